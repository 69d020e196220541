//! API Gateway HTTP API (payload 2.0) ⇄ Mostrador handlers.
//!
//! `lambda_http` turns the gateway event into an `http::Request`; [`ApiRequest`] adds what our
//! handlers need (route key, path parameters, request id, bounded JSON parsing) and
//! [`respond`] turns a handler's `Result` into exactly one HTTP response, problem+json on error.

pub mod page;
mod request;
mod response;
pub mod strict;

pub use request::{ApiRequest, MAX_JSON_BODY};
pub use response::{json, no_content, respond, HttpHandler, REQUEST_ID_HEADER};
