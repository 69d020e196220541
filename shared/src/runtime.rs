//! Lambda entry points: what each `functions/<name>/src/main.rs` calls.
//!
//! Each builds the telemetry and the [`AppState`] once per cold start, then serves invocations.

use crate::http::{respond, HttpHandler};
use crate::sqs::{process_batch, SqsHandler};
use crate::telemetry::{self, Sink};
use crate::AppState;
use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{service_fn, LambdaEvent};
use std::convert::Infallible;

pub type Error = lambda_runtime::Error;

/// A scheduled function's body: runs once per EventBridge tick. An `Err` (any error, its cause
/// kept) fails the invocation (EventBridge retries it) and is logged with its chain.
pub type ScheduleHandler =
    fn(&'static AppState) -> futures::future::BoxFuture<'static, Result<(), Error>>;

async fn cold_start() -> Result<&'static AppState, Error> {
    let level = std::env::var("LOG_LEVEL").unwrap_or_else(|_| "info".to_owned());
    telemetry::init(&level, Sink::Stdout);
    let state = AppState::from_env().await.map_err(|e| {
        tracing::error!(error = %e, "cold start failed");
        e
    })?;
    // One state per process, alive for the process's whole life.
    let state: &'static AppState = Box::leak(Box::new(state));
    if std::env::var(PREWARM_ENV).as_deref() == Ok("dynamodb") {
        prewarm_dynamodb(state).await;
    }
    Ok(state)
}

/// Opt-in (`MOSTRADOR_PREWARM=dynamodb`): build the DynamoDB client and open its connection
/// (credentials, endpoint, TCP + TLS) during init with one read of a key that never exists,
/// instead of during the first invocation. Off by default: it is network I/O during init, and
/// `docs/benchmarks.md` measures both variants.
pub const PREWARM_ENV: &str = "MOSTRADOR_PREWARM";

async fn prewarm_dynamodb(state: &'static AppState) {
    let read = crate::db::get_item(state, "PREWARM", "PREWARM");
    if let Err(e) = read.await {
        tracing::warn!(error = %e, "DynamoDB prewarm failed (the first invocation will retry)");
    }
}

/// Serves an API Gateway HTTP API function.
pub async fn run_http(handler: HttpHandler) -> Result<(), Error> {
    let state = cold_start().await?;
    lambda_http::run(lambda_http::service_fn(move |req| async move {
        Ok::<_, Infallible>(respond(state, req, handler).await)
    }))
    .await
}

/// Serves an SQS-triggered function with partial batch failure reporting.
pub async fn run_sqs(handler: SqsHandler) -> Result<(), Error> {
    let state = cold_start().await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Infallible>(process_batch(state, event.payload, handler).await)
    }))
    .await
}

/// Serves a function triggered by an EventBridge schedule.
pub async fn run_schedule(handler: ScheduleHandler) -> Result<(), Error> {
    let state = cold_start().await?;
    lambda_runtime::run(service_fn(
        move |_event: LambdaEvent<serde_json::Value>| async move {
            handler(state).await.inspect_err(|e| {
                let error = telemetry::error_chain(e.as_ref());
                tracing::error!(error = %error, "scheduled run failed");
            })
        },
    ))
    .await
}
