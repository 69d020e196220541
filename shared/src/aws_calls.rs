//! Opt-in accounting of AWS SDK calls, for the benchmark harness (`make bench`, issue 8).
//!
//! With `MOSTRADOR_COUNT_AWS_CALLS=1` in the environment, [`AppState::new`](crate::AppState::new)
//! adds [`CallLogger`] to every SDK client. It logs one line per operation (target
//! `mostrador::aws_calls`) with the service, the operation and its start/end time in
//! microseconds since the process started, so `infra/bench` can count the calls on a route and
//! compute how many of them run one after another. Unset (production), no interceptor is added
//! and the clients are exactly the ones built before.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use std::sync::OnceLock;
use std::time::Instant;

/// The environment variable that turns the accounting on.
pub const ENV_VAR: &str = "MOSTRADOR_COUNT_AWS_CALLS";

/// Whether [`ENV_VAR`] is set to `1` or `true` (read once).
pub fn enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| {
        matches!(
            std::env::var(ENV_VAR).as_deref(),
            Ok("1") | Ok("true") | Ok("TRUE")
        )
    })
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

#[derive(Debug, Clone, Copy)]
struct Started(Instant);

impl Storable for Started {
    type Storer = StoreReplace<Self>;
}

/// Logs every SDK operation's service, name and start/end times (once per operation, retries
/// included in its duration).
#[derive(Debug, Default, Clone, Copy)]
pub struct CallLogger;

impl Intercept for CallLogger {
    fn name(&self) -> &'static str {
        "MostradorCallLogger"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let _ = epoch();
        cfg.interceptor_state().store_put(Started(Instant::now()));
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let end = Instant::now();
        let start = cfg.load::<Started>().map(|s| s.0).unwrap_or(end);
        let (service, operation) = cfg
            .load::<Metadata>()
            .map(|m| (m.service().to_owned(), m.name().to_owned()))
            .unwrap_or_default();
        let since = |t: Instant| t.saturating_duration_since(epoch()).as_micros() as u64;
        tracing::info!(
            target: "mostrador::aws_calls",
            aws_service = %service,
            aws_operation = %operation,
            start_us = since(start),
            end_us = since(end),
            ok = context.output_or_error().is_some_and(|r| r.is_ok()),
            "aws call"
        );
        Ok(())
    }
}
