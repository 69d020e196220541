//! The whole Mostrador stack on one machine, from `template.yaml`: DynamoDB Local and moto as
//! child processes, every table/queue/secret provisioned, a local API Gateway HTTP API in front
//! of the functions' handlers, SQS pollers standing in for Lambda's event source mappings.
//!
//! `make dev` runs the `devstack` binary; black-box tests start the same [`Stack`] on free ports.

pub mod banner;
pub mod demo;
mod email_events;
pub mod emulators;
pub mod gateway;
pub mod iam;
mod mail;
mod malformed;
pub mod outage;
pub mod pollers;
mod problem;
pub mod provision;
mod running;
mod server;
pub mod ses_front;
pub mod stack;
pub mod template;

pub use stack::{Stack, StackError, StackOptions};
