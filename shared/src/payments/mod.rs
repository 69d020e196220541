//! Payments (issue 6): a provider-neutral payments API with Mercado Pago behind
//! [`provider::PaymentProvider`].
//!
//! Flow: `POST /v1/payments` stores the payment, then creates a Checkout Pro preference (or
//! charges a card token) with `external_reference` = our payment id and `notification_url` =
//! the project's intake URL. Mercado Pago's notifications reach [`intake`], which only
//! enqueues ids; [`sync`] re-fetches with the project's token and applies the status through
//! the monotonic machine in [`status`], emitting `payment.updated` and, once per order,
//! `order.paid`. [`reconcile`] re-checks payments whose notifications never came.

pub mod creds;
pub mod due;
pub mod intake;
pub mod model;
pub mod money;
pub mod notices;
pub mod provider;
pub mod queue;
pub mod reconcile;
pub mod refund_routes;
pub mod refund_store;
mod request;
pub mod routes;
pub mod schedule;
pub mod status;
pub mod store;
pub mod sync;
