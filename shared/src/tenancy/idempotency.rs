//! `Idempotency-Key` for every POST (IETF httpapi draft semantics).
//!
//! - same key + same request: the first answer is replayed (`Idempotent-Replayed: true`);
//! - same key + different request: 409 `idempotency_key_reused`;
//! - same key while the first request is still running: 409 `idempotency_request_in_progress`;
//! - records live 24 h (`expires_at`); an expired record counts as absent.
//!
//! The first request claims the key with a conditional put (state `in_flight`, a 60 s lease);
//! its answer is then stored. 5xx answers are not stored: the claim is released so the client
//! can retry. If the process dies mid-request, the lease expires and a retry runs again: it
//! re-claims the key (keeping the record's `id_seed`), so it mints the ids the first run minted
//! and finds what that run created instead of creating it twice ([`Minted`]).
//! The guard makes the claim concurrently with the rate-limit and usage updates ([`Early`]);
//! a request refused by the rate limit releases it.
//! Keys are scoped to the project: two projects may use the same key.

use super::minted::Minted;
use super::replay::{attr, in_progress, replay_or_conflict};
use super::Caller;
use crate::db::{self, storage_error};
use crate::error::ApiError;
use crate::http::ApiRequest;
use crate::AppState;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
use lambda_http::{Body, Response};
use sha2::{Digest, Sha256};
use std::future::Future;
use std::sync::{Arc, Mutex};

pub const HEADER: &str = "idempotency-key";
const TTL_SECONDS: i64 = 24 * 3600;
const LEASE_SECONDS: i64 = 60;
/// Answers larger than this are not kept (DynamoDB items are at most 400 KB).
const MAX_STORED_BODY: usize = 300 * 1024;

fn fingerprint(req: &ApiRequest) -> String {
    let mut h = Sha256::new();
    h.update(req.route_key.as_bytes());
    h.update(b"\n");
    h.update(req.path.as_bytes());
    h.update(b"\n");
    h.update(req.body());
    hex::encode(h.finalize())
}

/// What claiming a request's key gave: nothing to claim, the key (this request runs), or the
/// answer to give instead of running (a replay, or a 4xx conflict/invalid key).
#[derive(Debug)]
pub enum Claim {
    NoKey,
    Held(Held),
    Answer(Result<Response<Body>, ApiError>),
}

/// A key this request holds (state `in_flight`, under a lease).
#[derive(Debug)]
pub struct Held {
    pk: String,
    now: i64,
    minted: Minted,
}

/// A claim made by the guard concurrently with the rate-limit and usage updates (one round trip
/// fewer on every POST), handed to [`once`] through the [`Caller`]. If the route never calls
/// `once` (e.g. a 403 before it), the guard releases the key afterwards.
/// Also carries the held key's [`Minted`] seed to the handler (see [`Caller::minted`]).
#[derive(Clone, Debug, Default)]
pub struct Early {
    claim: Arc<Mutex<Option<Claim>>>,
    minted: Arc<Mutex<Option<Minted>>>,
}

impl Early {
    pub(crate) fn set(&self, claim: Claim) {
        if let Ok(mut slot) = self.claim.lock() {
            *slot = Some(claim);
        }
    }

    fn take(&self) -> Option<Claim> {
        self.claim.lock().ok().and_then(|mut slot| slot.take())
    }

    pub(crate) fn minted(&self) -> Option<Minted> {
        self.minted.lock().ok().and_then(|slot| *slot)
    }

    fn hold(&self, held: &Held) {
        if let Ok(mut slot) = self.minted.lock() {
            *slot = Some(held.minted);
        }
    }

    /// Releases a key claimed early that no handler used (after a 429 or a response given
    /// before `once`), so a retry is not refused as in flight.
    pub(crate) async fn release_unused(&self, state: &AppState) {
        if let Some(Claim::Held(held)) = self.take() {
            release(state, &held.pk).await;
        }
    }
}

/// Whether `req` is subject to Idempotency-Key (every POST).
pub fn applies(req: &ApiRequest) -> bool {
    req.method == http::Method::POST
}

/// Claims the request's key (conditional put: state `in_flight`, a 60 s lease).
pub async fn claim(state: &AppState, caller: &Caller, req: &ApiRequest) -> Claim {
    let Some(key) = req.header(HEADER) else {
        return Claim::NoKey;
    };
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Claim::Answer(Err(ApiError::bad_request(
            "idempotency_key_invalid",
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        )));
    }
    let pk = format!(
        "I#{}#{}",
        caller.project.id,
        hex::encode(Sha256::digest(key.as_bytes()))
    );
    let fp = fingerprint(req);
    let at = state.clock.now();
    let now = at.unix_timestamp();
    let seed = Minted::draw(u64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0));
    let claim = state
        .dynamodb
        .put_item()
        .table_name(&state.config.table_name)
        .item("pk", db::s(&pk))
        .item("sk", db::s("IDEM"))
        .item("project_id", db::s(caller.project.id.to_string()))
        .item("state", db::s("in_flight"))
        .item("fingerprint", db::s(&fp))
        .item("locked_until", db::n(now + LEASE_SECONDS))
        .item("expires_at", db::n(now + TTL_SECONDS))
        .item("id_seed", db::s(seed.to_string()))
        .condition_expression("attribute_not_exists(pk) OR expires_at <= :now")
        .expression_attribute_values(":now", db::n(now))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    match claim {
        Ok(_) => Claim::Held(Held {
            pk,
            now,
            minted: Minted::new(seed, false),
        }),
        Err(e) if db::is_conditional_failure(&e) => {
            let old = match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(c)) => {
                    c.item.clone().unwrap_or_default()
                }
                _ => db::Item::default(),
            };
            let lease_over = attr(&old, "state") == Some("in_flight")
                && attr(&old, "fingerprint") == Some(fp.as_str())
                && old
                    .get("locked_until")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse::<i64>().ok())
                    .is_some_and(|until| until <= now);
            if lease_over {
                reclaim(state, pk, &fp, now, seed).await
            } else {
                Claim::Answer(replay_or_conflict(&old, &fp))
            }
        }
        Err(e) => Claim::Answer(Err(storage_error(e).into())),
    }
}

/// Takes over a key whose holder died (its lease is over): a new lease, the same `id_seed`, so
/// this run mints the first run's ids. `seed` is only used by records from before `id_seed`.
async fn reclaim(state: &AppState, pk: String, fp: &str, now: i64, seed: ulid::Ulid) -> Claim {
    let result = state
        .dynamodb
        .update_item()
        .table_name(&state.config.table_name)
        .key("pk", db::s(&pk))
        .key("sk", db::s("IDEM"))
        .update_expression("SET locked_until = :lease, id_seed = if_not_exists(id_seed, :seed)")
        .condition_expression(
            "#state = :in_flight AND locked_until <= :now AND fingerprint = :fp AND expires_at > :now",
        )
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":lease", db::n(now + LEASE_SECONDS))
        .expression_attribute_values(":seed", db::s(seed.to_string()))
        .expression_attribute_values(":now", db::n(now))
        .expression_attribute_values(":in_flight", db::s("in_flight"))
        .expression_attribute_values(":fp", db::s(fp))
        .return_values(ReturnValue::AllNew)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    match result {
        Ok(out) => {
            let item = out.attributes.unwrap_or_default();
            let seed = attr(&item, "id_seed")
                .and_then(|s| ulid::Ulid::from_string(s).ok())
                .unwrap_or(seed);
            Claim::Held(Held {
                pk,
                now,
                minted: Minted::new(seed, true),
            })
        }
        // Another retry took it over (or it completed, expired, vanished) in between.
        Err(e) if db::is_conditional_failure(&e) => {
            let old = match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(c)) => {
                    c.item.clone().unwrap_or_default()
                }
                _ => db::Item::default(),
            };
            if old.is_empty() {
                // Released in between: the client's next retry claims it afresh.
                return Claim::Answer(Err(in_progress()));
            }
            Claim::Answer(replay_or_conflict(&old, fp))
        }
        Err(e) => Claim::Answer(Err(storage_error(e).into())),
    }
}

/// Runs `handler` at most once per (project, Idempotency-Key).
pub async fn once<F, Fut>(
    state: &AppState,
    caller: &Caller,
    req: &ApiRequest,
    handler: F,
) -> Result<Response<Body>, ApiError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Response<Body>, ApiError>>,
{
    let claimed = match caller.idempotency.take() {
        Some(early) => early,
        None => claim(state, caller, req).await,
    };
    let held = match claimed {
        Claim::NoKey => return handler().await,
        Claim::Answer(answer) => return answer,
        Claim::Held(held) => held,
    };
    caller.idempotency.hold(&held);
    let response = match handler().await {
        Ok(response) => response,
        Err(err) if err.status().is_server_error() => {
            release(state, &held.pk).await;
            return Err(err);
        }
        Err(err) => err.into_response(&req.request_id),
    };
    if response.status().is_server_error() {
        release(state, &held.pk).await;
        return Ok(response);
    }
    store(state, &held.pk, &response, held.now).await;
    Ok(response)
}

/// [`once`] for a handler that leaves best-effort work to finish its answer (`then`, e.g. queue
/// messages a sweeper re-sends if lost): work that cannot change the answer, so it runs
/// concurrently with storing the answer instead of before it. One round trip fewer.
pub async fn once_then<F, Fut, Then>(
    state: &AppState,
    caller: &Caller,
    req: &ApiRequest,
    handler: F,
) -> Result<Response<Body>, ApiError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(Response<Body>, Then), ApiError>>,
    Then: Future<Output = ()>,
{
    let claimed = match caller.idempotency.take() {
        Some(early) => early,
        None => claim(state, caller, req).await,
    };
    let held = match claimed {
        Claim::NoKey => {
            let (response, then) = handler().await?;
            then.await;
            return Ok(response);
        }
        Claim::Answer(answer) => return answer,
        Claim::Held(held) => held,
    };
    caller.idempotency.hold(&held);
    match handler().await {
        Ok((response, then)) if !response.status().is_server_error() => {
            tokio::join!(store(state, &held.pk, &response, held.now), then);
            Ok(response)
        }
        Ok((response, then)) => {
            tokio::join!(release(state, &held.pk), then);
            Ok(response)
        }
        Err(err) if err.status().is_server_error() => {
            release(state, &held.pk).await;
            Err(err)
        }
        Err(err) => {
            let response = err.into_response(&req.request_id);
            store(state, &held.pk, &response, held.now).await;
            Ok(response)
        }
    }
}

async fn store(state: &AppState, pk: &str, response: &Response<Body>, now: i64) {
    let body = match response.body() {
        Body::Text(t) => t.clone(),
        Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    };
    if body.len() > MAX_STORED_BODY {
        tracing::warn!(
            bytes = body.len(),
            "answer too large to keep for idempotent replay"
        );
        release(state, pk).await;
        return;
    }
    let header = |name: http::header::HeaderName| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let mut req = state
        .dynamodb
        .update_item()
        .table_name(&state.config.table_name)
        .key("pk", db::s(pk))
        .key("sk", db::s("IDEM"))
        .update_expression("SET #state = :completed, #status = :status, #body = :body, #ct = :ct, #loc = :loc, #done = :now REMOVE #lock")
        .expression_attribute_names("#state", "state")
        .expression_attribute_names("#status", "status")
        .expression_attribute_names("#body", "body")
        .expression_attribute_names("#ct", "content_type")
        .expression_attribute_names("#loc", "location")
        .expression_attribute_names("#done", "completed_at")
        .expression_attribute_names("#lock", "locked_until")
        .expression_attribute_values(":completed", db::s("completed"))
        .expression_attribute_values(":status", db::n(response.status().as_u16()))
        .expression_attribute_values(":body", db::s(body))
        .expression_attribute_values(":ct", db::s(header(http::header::CONTENT_TYPE)))
        .expression_attribute_values(":loc", db::s(header(http::header::LOCATION)))
        .expression_attribute_values(":now", db::n(now));
    req = req.condition_expression("attribute_exists(pk)");
    if let Err(e) = req.send().await {
        // The answer was given; a retry within the lease gets 409, after it runs again.
        tracing::error!(error = %crate::telemetry::error_chain(&e), "idempotent answer not stored");
    }
}

async fn release(state: &AppState, pk: &str) {
    let result = state
        .dynamodb
        .delete_item()
        .table_name(&state.config.table_name)
        .key("pk", db::s(pk))
        .key("sk", db::s("IDEM"))
        .send()
        .await;
    if let Err(e) = result {
        tracing::warn!(error = %crate::telemetry::error_chain(&e), "idempotency claim not released; it expires with its lease");
    }
}
