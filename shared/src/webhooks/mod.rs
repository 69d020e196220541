//! Outbound webhooks, the pure parts: Standard Webhooks signatures ([`signing`]), event type
//! filters ([`filter`]), the retry schedule ([`schedule`]) and the SSRF-guarded HTTP client
//! ([`ssrf`]). The dispatcher function wires them to storage and the queue.

pub mod filter;
pub mod schedule;
pub mod signing;
pub mod ssrf;

pub use filter::{EventFilter, EventType};
pub use schedule::{next_attempt, Outcome};
pub use signing::{sign, WebhookSecret};
pub use ssrf::Policy;
