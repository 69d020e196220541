//! What every `/v1/*` request goes through: authentication, the project's rate limit, request
//! metering, and the rate-limit headers on whatever the handler answers.

use super::{ratelimit, usage, Caller};
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
    let caller = super::auth::authenticate(state, &req).await?;
    tracing::Span::current().record("project_id", tracing::field::display(&caller.project.id));
    let now = state.clock.now();
    let (window, ()) = tokio::join!(
        ratelimit::admit(state, &caller.project, now),
        usage::record(state, &caller.project.id, usage::Metric::Requests, 1, now),
    );
    let window = window?;
    match handler(caller, req).await {
        Ok(mut response) => {
            window.apply(&mut response);
            Ok(response)
        }
        Err(err) => Err(window.apply_to_error(err)),
    }
}
