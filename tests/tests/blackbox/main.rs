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
mod idempotency_crash;
mod logs;
mod newcomer;
mod notifications;
mod notifications_cloud;
mod notifications_faults;
mod notifications_ses;
mod notifications_support;
mod openapi;
mod payments;
mod payments_edges;
mod payments_faults;
mod payments_recovery;
mod payments_refunds;
mod strict_input;
mod template;
mod template_alarms;
mod tenancy;
mod webhook_endpoint_races;
mod webhooks;
mod webhooks_paused;
mod webhooks_retries;
