//! `POST` and `GET /v1/payments/{payment_id}/refunds`: refunds as objects of their own
//! ([`super::refund_store`]).

use super::model::Payment;
use super::refund_store::{self, Refund};
use super::request::{load, provider_failure, provider_key};
use super::status::Status;
use super::{creds, sync};
use crate::clock::rfc3339;
use crate::error::{ApiError, FieldError};
use crate::http::{json, ApiRequest};
use crate::ids::{self, RefundId};
use crate::paging::PageRequest;
use crate::tenancy::Caller;
use crate::AppState;
use http::StatusCode;
use lambda_http::{Body, Response};

/// `POST /v1/payments/{payment_id}/refunds`.
#[derive(serde::Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount": 5000}))]
pub struct RefundRequest {
    /// Minor units; absent: everything not yet refunded
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1000000000000_u64)]
    amount: Option<u64>,
}

fn created(refund: &Refund, payment: &Payment) -> Result<Response<Body>, ApiError> {
    json(
        StatusCode::CREATED,
        &refund_store::RefundCreated {
            refund: refund.view(),
            payment: payment.view(),
        },
    )
}

pub(super) async fn create(
    state: &AppState,
    caller: &Caller,
    req: &ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let body: RefundRequest = if req.body().is_empty() {
        RefundRequest::default()
    } else {
        req.json()?
    };
    let p = load(state, caller, req).await?;
    // A re-run of an idempotent refund whose first run recorded its refund but died before its
    // answer was stored answers with that refund (tenancy::minted).
    if let Some(id) = caller.rerun_id::<ids::Refund>() {
        if let Some(r) = refund_store::get(state, &caller.project.id, &p.id, &id).await? {
            return created(&r, &p);
        }
    }
    // A re-run whose first run died before recording may find the payment already refunded by
    // that run: it skips the balance checks and repeats the provider call with the same
    // X-Idempotency-Key and body, which Mercado Pago answers with the first run's refund
    // instead of refunding again.
    let rerun = caller.minted().is_some_and(|m| m.rerun());
    let refundable = rerun || matches!(p.status, Status::Paid | Status::PartiallyRefunded);
    let (Some(provider_payment_id), true) = (p.provider_payment_id.clone(), refundable) else {
        return Err(ApiError::conflict(
            "payment_not_refundable",
            format!(
                "a payment in status {} cannot be refunded",
                p.status.as_str()
            ),
        ));
    };
    let remaining = p.amount_minor.saturating_sub(p.refunded_minor);
    let amount = body.amount.unwrap_or(remaining);
    if !rerun && (amount == 0 || amount > remaining) {
        return Err(ApiError::validation(vec![FieldError::new(
            "amount",
            "out_of_range",
            format!("must be between 1 and the refundable {remaining}"),
        )]));
    }
    let creds = creds::get(state, &caller.project.id)
        .await?
        .ok_or_else(creds::not_configured)?;
    let provider = creds::provider(state, &creds);
    // Stable across retries of the same refund in the same state.
    let key = provider_key(
        caller,
        req,
        &format!("refund:{}:{}:{amount}", p.id, p.refunded_minor),
    );
    // The amount the client named is sent as named (not dropped when it is the whole balance),
    // so the body a retry sends is the same whatever was refunded since.
    let mut pr = match provider
        .refund(&provider_payment_id, body.amount, p.currency, &key)
        .await
    {
        Ok(r) => r,
        Err(e) => return Err(provider_failure(e)),
    };
    if pr.amount_minor == 0 {
        pr.amount_minor = amount;
    }
    // Recorded before the sync below, which would otherwise record it under an id of its own.
    let now = state.clock.now();
    let recorded = if pr.id.is_empty() {
        None
    } else {
        let id: RefundId = caller.new_id(now);
        Some(refund_store::record(state, &Refund::new(id, &p, &pr, &rfc3339(now))).await?)
    };
    // The provider's state is the truth: apply it now rather than wait for the notification.
    let payment = match sync::sync_provider_payment(
        state,
        &caller.project,
        provider.as_ref(),
        &provider_payment_id,
    )
    .await
    {
        Ok(Some(applied)) => applied,
        Ok(None) => p,
        Err(sync::SyncError::Storage(e)) => return Err(e.into()),
        Err(sync::SyncError::Provider(e)) => {
            tracing::warn!(error = %e, "refund applied at the provider; status follows by notification");
            p
        }
    };
    let refund = match recorded {
        // Settled by the sync meanwhile? Answer with the stored state.
        Some(r) => refund_store::get(state, &caller.project.id, &payment.id, &r.id)
            .await?
            .unwrap_or(r),
        None => replayed(state, caller, &payment, body.amount).await?,
    };
    created(&refund, &payment)
}

/// Mercado Pago answered a replayed refund (a run of this request died after Mercado Pago
/// refunded and before the refund was recorded) with an empty body, so its id is unknown. The
/// sync has recorded every refund of the payment by then; the answer is the newest one of the
/// amount named (of any amount when none was named). Documented in docs/data-model.md.
async fn replayed(
    state: &AppState,
    caller: &Caller,
    payment: &Payment,
    amount: Option<u64>,
) -> Result<Refund, ApiError> {
    let recent = PageRequest::first(100);
    let recent = refund_store::list(state, &caller.project.id, &payment.id, &recent).await?;
    recent
        .items
        .into_iter()
        .find(|r| amount.is_none_or(|a| r.amount_minor == a))
        .ok_or_else(|| {
            ApiError::unavailable(
                "provider_unavailable",
                "the refund was made but Mercado Pago has not listed it yet; retry shortly",
            )
            .with_header(http::header::RETRY_AFTER, "5")
        })
}

pub(super) async fn list(
    state: &AppState,
    caller: &Caller,
    req: &ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let p = load(state, caller, req).await?;
    let page = PageRequest::from_request::<ids::Refund>(req)?;
    let found = refund_store::list(state, &caller.project.id, &p.id, &page).await?;
    let page = refund_store::RefundList {
        data: found.items.iter().map(Refund::view).collect(),
        next_cursor: found.next_cursor,
    };
    json(StatusCode::OK, &page)
}
