//! What every payments route reads from a request and how it answers a provider failure:
//! the payment a path names (tenant-scoped), the listing parameters, the idempotency key
//! Mercado Pago sees. Used by `routes` and `refund_routes`, which use nothing of each other's.

use super::model::Payment;
use super::provider::ProviderError;
use super::store;
use crate::error::ApiError;
use crate::http::ApiRequest;
use crate::ids::PaymentId;
use crate::tenancy::{idempotency, Caller};
use crate::AppState;
use http::StatusCode;
use sha2::{Digest, Sha256};

/// The payment `{payment_id}` names, if it is the caller's (another project's is not found).
pub(super) async fn load(
    state: &AppState,
    caller: &Caller,
    req: &ApiRequest,
) -> Result<Payment, ApiError> {
    let id: PaymentId = req
        .path_param("payment_id")?
        .parse()
        .map_err(|_| ApiError::not_found("payment"))?;
    store::get(state, &caller.project.id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("payment"))
}

/// The key Mercado Pago sees: the client's Idempotency-Key scoped to the project (two
/// projects may share a Mercado Pago account), or a stable one derived from our own ids.
pub(super) fn provider_key(caller: &Caller, req: &ApiRequest, fallback: &str) -> String {
    let basis = match req.header(idempotency::HEADER) {
        Some(k) => format!("{}:{}:{k}", caller.project.id, req.route_key),
        None => fallback.to_owned(),
    };
    let digest = hex::encode(Sha256::digest(basis.as_bytes()));
    format!("mostrador-{}", &digest[..32])
}

pub(super) fn provider_failure(e: ProviderError) -> ApiError {
    match e {
        ProviderError::Unavailable(_) | ProviderError::Protocol(_) => {
            tracing::warn!(error = %e, "payment provider call failed");
            ApiError::unavailable(
                "provider_unavailable",
                "Mercado Pago is not answering; retry shortly",
            )
            .with_header(http::header::RETRY_AFTER, "5")
        }
        ProviderError::NothingToRefund => ApiError::conflict(
            "refund_exceeds_balance",
            "Mercado Pago has nothing (or less) left to refund on this payment",
        ),
        ProviderError::Unauthorized => ApiError::conflict(
            "provider_credentials_rejected",
            "Mercado Pago refused the project's access token",
        ),
        ProviderError::NotFound => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "provider_rejected",
            "Mercado Pago did not find a resource the request names",
        ),
        ProviderError::Rejected { code, message, .. } => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "provider_rejected",
            format!("Mercado Pago refused the request: {message}"),
        )
        .with_member("provider_code", code),
    }
}
