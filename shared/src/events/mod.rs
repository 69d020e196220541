//! Events: what happened in a shop (`order.created`, `payment.updated`), as stored. Publishing
//! one (storing it and fanning it out to the project's endpoints as one delivery each) is
//! `webhooks::emit`; `POST/GET /v1/events` are `webhooks::event_routes` (the webhooks function
//! serves them). Events sit below webhooks: nothing here knows about deliveries.

pub mod store;
