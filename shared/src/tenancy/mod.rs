//! Tenancy: projects, their plans and feature flags, API keys, and what every `/v1/*` request
//! goes through before its handler (authentication, rate limit, metering) — see [`guard`].

pub mod apikey;
pub mod auth;
pub mod flags;
pub mod guard;
pub mod idempotency;
pub mod minted;
pub mod plan;
pub mod project;
pub mod ratelimit;
mod replay;
pub mod routes;
pub mod usage;

pub use auth::Caller;
pub use flags::Flag;
pub use plan::{Limits, Plan};
pub use project::Project;
