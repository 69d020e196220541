//! Outbound webhooks, the pure parts: Standard Webhooks signatures ([`signing`]), event type
//! filters ([`filter`]), the retry schedule ([`schedule`]) and the SSRF-guarded HTTP client
//! ([`ssrf`]). The dispatcher function wires them to storage and the queue.

pub mod alert;
pub mod api;
pub mod deliveries;
pub mod delivery_routes;
pub mod dispatch;
pub mod emit;
pub mod endpoint_changes;
pub mod endpoint_routes;
pub mod endpoints;
pub mod event_routes;
pub mod filter;
pub mod queue;
pub mod schedule;
pub mod send;
pub mod signing;
pub mod ssrf;
pub mod sweep;

pub use emit::{emit, publish, Published, Target};
pub use filter::{EventFilter, EventType};
pub use schedule::{next_attempt, Outcome};
pub use signing::{sign, WebhookSecret};
pub use ssrf::Policy;
