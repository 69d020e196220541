//! Events: what happened in a shop (`order.created`, `payment.updated`), stored and fanned out
//! to the project's webhook endpoints as one delivery each. [`emit`] is the internal API every
//! module uses; [`routes`] serves `POST/GET /v1/events`.

pub mod emit;
pub mod routes;
pub mod store;

pub use emit::{emit, publish, Published, Target};
