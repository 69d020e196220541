//! What every `/v1/*` request goes through: authentication, the project's rate limit, request
//! metering, and the rate-limit headers on whatever the handler answers.
//!
//! After authentication (one read), the rate-limit update, the usage update and, for a POST
//! with an `Idempotency-Key`, the key's claim run concurrently: one round trip instead of two.
//! The claim is only used by the route if the rate limit admits the request; otherwise it is
//! released before the 429 is answered, as if it had never been made.

use super::{idempotency, ratelimit, usage, Caller};
use crate::error::ApiError;
use crate::http::ApiRequest;
use crate::AppState;
use lambda_http::{Body, Response};
use std::future::Future;

pub async fn protected<F, Fut>(
    state: &'static AppState,
    req: ApiRequest,
    handler: F,
) -> Result<Response<Body>, ApiError>
where
    F: FnOnce(Caller, ApiRequest) -> Fut,
    Fut: Future<Output = Result<Response<Body>, ApiError>>,
{
    let no_reads = |_: &Caller, _: &ApiRequest| async {};
    protected_prefetched(state, req, no_reads, |caller, req, ()| handler(caller, req)).await
}

/// [`protected`] for a route whose first step is a read: `prefetch` starts it (reads only,
/// never a write) concurrently with the rate-limit and usage updates, and the handler gets its
/// result. A refused request just drops what was read.
pub async fn protected_prefetched<P, PF, PFut, F, Fut>(
    state: &'static AppState,
    req: ApiRequest,
    prefetch: PF,
    handler: F,
) -> Result<Response<Body>, ApiError>
where
    PF: FnOnce(&Caller, &ApiRequest) -> PFut,
    PFut: Future<Output = P>,
    F: FnOnce(Caller, ApiRequest, P) -> Fut,
    Fut: Future<Output = Result<Response<Body>, ApiError>>,
{
    let caller = super::auth::authenticate(state, &req).await?;
    tracing::Span::current().record("project_id", tracing::field::display(&caller.project.id));
    let now = state.clock.now();
    let claim = async {
        if idempotency::applies(&req) {
            idempotency::claim(state, &caller, &req).await
        } else {
            idempotency::Claim::NoKey
        }
    };
    let (window, (), claim, prefetched) = tokio::join!(
        ratelimit::admit(state, &caller.project, now),
        usage::record(state, &caller.project.id, usage::Metric::Requests, 1, now),
        claim,
        prefetch(&caller, &req),
    );
    let early = caller.idempotency.clone();
    early.set(claim);
    let window = match window {
        Ok(window) => window,
        Err(refused) => {
            early.release_unused(state).await;
            return Err(refused);
        }
    };
    let result = handler(caller, req, prefetched).await;
    early.release_unused(state).await;
    match result {
        Ok(mut response) => {
            window.apply(&mut response);
            Ok(response)
        }
        Err(err) => Err(window.apply_to_error(err)),
    }
}
