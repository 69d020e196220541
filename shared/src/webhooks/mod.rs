//! Webhooks: publishing an event (store it, fan it out to the project's matching endpoints as one
//! delivery each) and delivering it as signed, retried Standard Webhooks requests.
//!
//! - The `webhooks` function: [`routes`] dispatches to [`event_routes`] (`/v1/events`),
//!   [`endpoint_routes`] (`/v1/webhook-endpoints`, with [`endpoint_changes`] for field-level
//!   updates and secret rotation) and [`delivery_routes`] (`/v1/webhook-deliveries`).
//! - Publishing: [`emit()`] (every module's way to announce an event), [`filter`] (event types and
//!   patterns).
//! - Storage: [`endpoint_store`], [`delivery_store`] (items, views, listings), [`queue`] (the versioned
//!   DeliveriesQueue message).
//! - Delivering: [`dispatch`] (the dispatcher function: one attempt, its result, the next
//!   schedule, endpoint health; its decisions are pure functions in `dispatch::decision`,
//!   unit-tested without emulators), [`send`] + [`ssrf`] (the guarded HTTP client), [`signing`],
//!   [`schedule`] (retry backoff), [`sweep`] (the retry sweeper function: attempts due beyond
//!   SQS's 15-minute delay cap, lost messages), [`alert`] (the e-mail when an endpoint is
//!   disabled).

pub mod alert;
pub mod delivery_routes;
pub mod delivery_store;
pub mod dispatch;
pub mod emit;
pub mod endpoint_changes;
pub mod endpoint_routes;
pub mod endpoint_store;
pub mod event_routes;
pub mod filter;
pub mod queue;
pub mod routes;
pub mod schedule;
pub mod send;
pub mod signing;
pub mod ssrf;
pub mod sweep;

pub use emit::{emit, publish, EmitError, Published, Target};
pub use filter::{EventFilter, EventType};
pub use schedule::{next_attempt, Outcome};
pub use signing::{sign, WebhookSecret};
pub use ssrf::Policy;
