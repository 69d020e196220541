//! Mostrador's common crate: everything the Lambda functions share.
//!
//! Each `functions/<name>` binary is a thin shell around one entry point of this crate
//! ([`runtime`]); the logic lives here, where unit and black-box tests reach it.

pub mod admin;
pub mod aws_calls;
pub mod clock;
pub mod config;
pub mod contact;
pub mod contract;
pub mod credentials;
pub mod db;
pub mod error;
pub mod events;
pub mod functions;
pub mod health;
pub mod http;
pub mod ids;
pub mod inbound;
pub mod notifications;
pub mod paging;
pub mod payments;
pub mod runtime;
pub mod ses;
pub mod sqs;
pub mod state;
pub mod telemetry;
pub mod templates;
pub mod tenancy;
pub mod webhooks;

pub use clock::Clock;
pub use config::Config;
pub use error::ApiError;
pub use state::AppState;
