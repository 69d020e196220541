//! Black-box tests against the local stack. One binary, so the stack starts once.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin;
mod devstack;
mod fixtures;
mod gateway;
mod health;
mod iam;
mod idempotency;
mod logs;
mod notifications;
mod notifications_cloud;
mod notifications_ses;
mod notifications_support;
mod openapi;
mod payments;
mod payments_faults;
mod template;
mod tenancy;
mod webhooks;
mod webhooks_retries;
