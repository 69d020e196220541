//! Refunds as their own objects (data model item 19): one item per provider refund, stored
//! under its payment, whether it was made through `POST /v1/payments/{id}/refunds` or at the
//! provider directly (the Mercado Pago dashboard) and found by the sync.
//!
//! One provider refund is one item: every creation is a transaction that also puts a lookup
//! keyed by the provider refund id, conditional on neither existing. Whoever writes second (the
//! API and the sync racing over one refund, two syncs) finds the lookup and uses the first item.

use super::model::Payment;
use super::money::Currency;
use super::provider::ProviderRefund;
pub use super::status::RefundStatus;
use super::store::history_pk;
use crate::clock::rfc3339;
use crate::db::{self, storage_error, Item, StorageError};
use crate::error::ApiError;
use crate::ids::{PaymentId, ProjectId, RefundId};
use crate::paging::{self, Page, PageRequest, Query, Range};
use crate::AppState;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use serde::{Deserialize, Serialize};

/// The stored refund (item #19 plus its keys). Payments never expire, so neither do refunds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Refund {
    pub id: RefundId,
    pub project_id: ProjectId,
    pub payment_id: PaymentId,
    pub amount_minor: u64,
    pub currency: Currency,
    pub status: RefundStatus,
    pub provider_refund_id: String,
    pub created_at: String,
    pub updated_at: String,
}

impl Refund {
    /// A refund of `payment` as the provider reported it; `id` decides whether it is the one an
    /// API request minted or one the sync found.
    pub fn new(id: RefundId, payment: &Payment, pr: &ProviderRefund, at: &str) -> Self {
        Self {
            id,
            project_id: payment.project_id,
            payment_id: payment.id,
            amount_minor: pr.amount_minor,
            currency: payment.currency,
            status: pr.status,
            provider_refund_id: pr.id.clone(),
            created_at: pr.created_at.map(rfc3339).unwrap_or_else(|| at.to_owned()),
            updated_at: at.to_owned(),
        }
    }

    /// The client's view; amounts in minor units.
    pub fn view(&self) -> RefundView<'_> {
        RefundView {
            id: &self.id,
            payment_id: &self.payment_id,
            amount: self.amount_minor,
            currency: self.currency,
            status: self.status,
            provider_refund_id: &self.provider_refund_id,
            created_at: &self.created_at,
            updated_at: &self.updated_at,
        }
    }
}

/// A refund of a payment, made through the API or found at the provider.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Refund)]
pub struct RefundView<'a> {
    pub id: &'a RefundId,
    pub payment_id: &'a PaymentId,
    /// Minor units
    pub amount: u64,
    pub currency: Currency,
    pub status: RefundStatus,
    /// Mercado Pago's refund id
    pub provider_refund_id: &'a str,
    #[schema(format = DateTime)]
    pub created_at: &'a str,
    #[schema(format = DateTime)]
    pub updated_at: &'a str,
}

/// A page of a payment's refunds, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RefundList<'a> {
    pub data: Vec<RefundView<'a>>,
    pub next_cursor: Option<String>,
}

/// `POST /v1/payments/{payment_id}/refunds`: the refund and the payment as it now stands.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RefundCreated<'a> {
    pub refund: RefundView<'a>,
    pub payment: super::model::PaymentView<'a>,
}

/// The lookup's sort key. Refund items sort under their own id (`ref_…`), so a `ref_` prefix
/// query of the payment's partition reads refunds only (history items are `H#…`).
fn lookup_sk(provider_refund_id: &str) -> String {
    format!("PRF#{provider_refund_id}")
}

fn parse(
    item: Item,
    project: &ProjectId,
    payment: &PaymentId,
) -> Result<Option<Refund>, StorageError> {
    let r: Refund = db::from_item(item)?;
    Ok((r.project_id == *project && r.payment_id == *payment).then_some(r))
}

pub async fn get(
    state: &AppState,
    project: &ProjectId,
    payment: &PaymentId,
    id: &RefundId,
) -> Result<Option<Refund>, StorageError> {
    match db::get_item(state, history_pk(project, payment), id.to_string()).await? {
        Some(item) => parse(item, project, payment),
        None => Ok(None),
    }
}

/// The refund recorded for a provider refund id, if any.
pub async fn by_provider_id(
    state: &AppState,
    project: &ProjectId,
    payment: &PaymentId,
    provider_refund_id: &str,
) -> Result<Option<Refund>, StorageError> {
    let lookup = db::get_item(
        state,
        history_pk(project, payment),
        lookup_sk(provider_refund_id),
    )
    .await?;
    let Some(id) = lookup
        .as_ref()
        .and_then(|i| i.get("refund_id"))
        .and_then(|v| v.as_s().ok())
        .and_then(|s| s.parse::<RefundId>().ok())
    else {
        return Ok(None);
    };
    get(state, project, payment, &id).await
}

/// Stores `r` unless its provider refund is recorded already; returns what is stored for it.
pub async fn record(state: &AppState, r: &Refund) -> Result<Refund, RecordError> {
    let pk = history_pk(&r.project_id, &r.payment_id);
    let mut item = db::to_item(r)?;
    item.insert("pk".into(), db::s(&pk));
    item.insert("sk".into(), db::s(r.id.to_string()));
    let mut lookup = Item::new();
    lookup.insert("pk".into(), db::s(&pk));
    lookup.insert("sk".into(), db::s(lookup_sk(&r.provider_refund_id)));
    lookup.insert("project_id".into(), db::s(r.project_id.to_string()));
    lookup.insert("refund_id".into(), db::s(r.id.to_string()));
    let put = |item: Item| {
        Put::builder()
            .table_name(&state.config.table_name)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map(|p| TransactWriteItem::builder().put(p).build())
            .map_err(StorageError::other)
    };
    let items = vec![put(item)?, put(lookup)?];
    if db::transact(state, items).await? == db::Transaction::Committed {
        return Ok(r.clone());
    }
    // The lookup exists: this provider refund is recorded (the API and the sync raced).
    if let Some(first) =
        by_provider_id(state, &r.project_id, &r.payment_id, &r.provider_refund_id).await?
    {
        return Ok(first);
    }
    // A re-run that minted the same id for another provider refund (never expected): the
    // stored item stands.
    if let Some(same) = get(state, &r.project_id, &r.payment_id, &r.id).await? {
        return Ok(same);
    }
    Err(RecordError::Busy)
}

/// Why a refund was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Its items kept changing under us (never expected): 503 `payment_busy`.
    #[error("the refund kept changing")]
    Busy,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The HTTP edge for recording a refund.
impl From<RecordError> for ApiError {
    fn from(err: RecordError) -> Self {
        match err {
            RecordError::Busy => {
                ApiError::unavailable("payment_busy", "the refund kept changing; retry")
            }
            RecordError::Storage(e) => e.into(),
        }
    }
}

/// A payment's refunds, newest first: the `ref_` ids in its history partition.
fn refunds_of(project: &ProjectId, payment: &PaymentId) -> Query {
    let range = Range::ids::<crate::ids::Refund>(None, None);
    Query::newest_first(None, history_pk(project, payment), range)
}

/// A page of a payment's refunds, newest first (the payment is the filter).
pub async fn list(
    state: &AppState,
    project: &ProjectId,
    payment: &PaymentId,
    page: &PageRequest,
) -> Result<Page<Refund>, StorageError> {
    let after = page.after(&history_pk(project, payment));
    let query = refunds_of(project, payment);
    paging::page(state, &query, page.limit, after.as_ref())
        .await?
        .try_filter_map(|item| parse(item, project, payment))
}

/// Every refund of a payment (the sync compares them with the provider's list).
async fn all(
    state: &AppState,
    project: &ProjectId,
    payment: &PaymentId,
) -> Result<Vec<Refund>, StorageError> {
    let mut refunds = Vec::new();
    for item in paging::all(state, &refunds_of(project, payment)).await? {
        refunds.extend(parse(item, project, payment)?);
    }
    Ok(refunds)
}

/// Moves a pending refund to the provider's status (only `pending` ever changes, so a stale
/// read cannot undo a final status).
async fn settle(
    state: &AppState,
    r: &Refund,
    status: RefundStatus,
    at: &str,
) -> Result<(), StorageError> {
    let result = state
        .dynamodb
        .update_item()
        .table_name(&state.config.table_name)
        .key("pk", db::s(history_pk(&r.project_id, &r.payment_id)))
        .key("sk", db::s(r.id.to_string()))
        .update_expression("SET #st = :st, updated_at = :at")
        .condition_expression("attribute_exists(pk) AND #st = :pending")
        .expression_attribute_names("#st", "status")
        .expression_attribute_values(":st", db::s(status.as_str()))
        .expression_attribute_values(":at", db::s(at))
        .expression_attribute_values(":pending", db::s(RefundStatus::Pending.as_str()))
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if db::is_conditional_failure(&e) => Ok(()),
        Err(e) => Err(storage_error(e)),
    }
}

/// The sync's part: every refund the provider lists for a payment of ours is recorded (a new
/// provider refund id becomes a refund with an id of its own: made outside Mostrador, or by a
/// request whose answer is still on its way, which then finds it through the lookup), and a
/// pending one takes the provider's final status.
pub async fn observe(
    state: &AppState,
    payment: &Payment,
    seen: &[ProviderRefund],
) -> Result<(), RecordError> {
    let seen: Vec<&ProviderRefund> = seen.iter().filter(|r| !r.id.is_empty()).collect();
    if seen.is_empty() {
        return Ok(());
    }
    let known = all(state, &payment.project_id, &payment.id).await?;
    let now = state.clock.now();
    let at = rfc3339(now);
    for change in plan(&known, &seen) {
        match change {
            Change::Settle(r, status) => settle(state, r, status, &at).await?,
            Change::Record(pr) => {
                let id = RefundId::at(pr.created_at.unwrap_or(now));
                record(state, &Refund::new(id, payment, pr, &at)).await?;
            }
        }
    }
    Ok(())
}

/// What the sync writes for the refunds the provider lists.
#[derive(Debug)]
pub enum Change<'a> {
    /// A pending refund of ours takes the provider's (final) status.
    Settle(&'a Refund, RefundStatus),
    /// A provider refund we have no item for.
    Record(&'a ProviderRefund),
}

/// Compares the provider's refunds (`seen`, with ids) with the stored ones (`known`): nothing
/// for what is recorded already and final, so observing the same list again writes nothing.
pub fn plan<'a>(known: &'a [Refund], seen: &[&'a ProviderRefund]) -> Vec<Change<'a>> {
    let mut out = Vec::new();
    for pr in seen {
        match known.iter().find(|r| r.provider_refund_id == pr.id) {
            Some(r) if r.status == RefundStatus::Pending && pr.status != r.status => {
                out.push(Change::Settle(r, pr.status));
            }
            Some(_) => {}
            None => out.push(Change::Record(pr)),
        }
    }
    out
}
