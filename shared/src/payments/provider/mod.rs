//! The provider seam: handlers and the sync speak [`PaymentProvider`] and see only
//! provider-neutral data (our [`Status`] and [`RefundStatus`], payment ids, amounts in minor
//! units). Everything a provider means by its own words (status tables, notification topics,
//! its name as stored on payments) stays in its module: [`mercadopago`], the one
//! implementation. [`fake`] is an in-memory provider for unit tests of the sync's decisions.
//!
//! A second provider (Stripe) is a module here, its line in [`super::creds::provider`], its
//! credentials and config, and the contract (docs/architecture.md, "A payment provider").

use super::money::Currency;
use super::status::{RefundStatus, Status};
use futures::future::BoxFuture;

#[cfg(any(test, feature = "test-support"))]
pub mod fake;
pub mod mercadopago;

/// What we ask a provider to create.
#[derive(Clone, Debug)]
pub struct NewPayment {
    /// Our payment id: the provider's external reference, so every provider payment leads back.
    pub reference: String,
    pub order_id: String,
    pub amount_minor: u64,
    pub currency: Currency,
    pub description: String,
    pub items: Vec<super::model::LineItem>,
    pub payer_email: Option<String>,
    pub notification_url: String,
    pub back_urls: Option<super::model::BackUrls>,
    /// Forwarded as the provider's idempotency key.
    pub idempotency_key: String,
}

/// A direct (card token) charge.
#[derive(Clone, Debug)]
pub struct CardCharge {
    pub token: String,
    pub installments: u32,
    pub payment_method_id: Option<String>,
}

/// A hosted checkout the buyer is redirected to.
#[derive(Clone, Debug)]
pub struct Checkout {
    pub checkout_id: String,
    pub redirect_url: String,
}

/// A provider payment as the provider reports it now.
#[derive(Clone, Debug)]
pub struct ProviderPayment {
    pub id: String,
    /// The status normalised by the provider; `None` for one it does not know (the sync
    /// ignores the payment then, and logs `raw_status`).
    pub status: Option<Status>,
    /// The provider's own status word, for logs only.
    pub raw_status: String,
    /// The provider's detail (Mercado Pago `accredited`), stored as the payment's
    /// `status_detail`.
    pub status_detail: String,
    pub amount_minor: u64,
    pub refunded_minor: u64,
    pub currency: Option<Currency>,
    pub external_reference: Option<String>,
    /// The account the money goes to (Mercado Pago `collector_id`).
    pub account_id: Option<String>,
    /// Every refund of this payment the provider knows, however it was made.
    pub refunds: Vec<ProviderRefund>,
}

/// A refund as the provider reports it.
#[derive(Clone, Debug)]
pub struct ProviderRefund {
    /// Empty when the provider answered a replayed request without a body.
    pub id: String,
    pub amount_minor: u64,
    /// Normalised by the provider (an unknown status is `Pending`).
    pub status: RefundStatus,
    /// When the provider created it, if it said.
    pub created_at: Option<time::OffsetDateTime>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// Down, slow, throttled or 5xx: retry later.
    #[error("payment provider unavailable: {0}")]
    Unavailable(String),
    /// The resource does not exist for these credentials.
    #[error("not found at the payment provider")]
    NotFound,
    /// The provider refused the request (4xx); `code` is the provider's cause code.
    #[error("payment provider refused the request ({status}): {message}")]
    Rejected {
        status: u16,
        code: String,
        message: String,
    },
    /// A refund was refused because the payment has nothing (or less) left to refund.
    #[error("nothing (or less) left to refund at the payment provider")]
    NothingToRefund,
    /// The credentials were refused (401/403).
    #[error("payment provider refused the credentials")]
    Unauthorized,
    /// The answer could not be understood.
    #[error("payment provider answered something unexpected: {0}")]
    Protocol(String),
}

pub type ProviderResult<T> = Result<T, ProviderError>;

/// One payment provider account (credentials already bound).
pub trait PaymentProvider: Send + Sync {
    /// Provider name as stored on payments (the module's `NAME`).
    fn name(&self) -> &'static str;
    /// The account payments must belong to (checked on every fetched payment).
    fn account_id(&self) -> Option<String>;
    fn create_checkout<'a>(
        &'a self,
        payment: &'a NewPayment,
    ) -> BoxFuture<'a, ProviderResult<Checkout>>;
    fn charge_card<'a>(
        &'a self,
        payment: &'a NewPayment,
        card: &'a CardCharge,
    ) -> BoxFuture<'a, ProviderResult<ProviderPayment>>;
    fn fetch_payment<'a>(&'a self, id: &'a str) -> BoxFuture<'a, ProviderResult<ProviderPayment>>;
    /// Provider payment ids with this external reference (discovery for reconciliation).
    fn find_payments<'a>(
        &'a self,
        reference: &'a str,
    ) -> BoxFuture<'a, ProviderResult<Vec<String>>>;
    /// Provider payment ids a notification names when it is about something other than one
    /// payment (its `reference`, as the provider's intake queued it in
    /// [`super::queue::Job::ProviderNotice`]).
    fn notice_payments<'a>(
        &'a self,
        reference: &'a str,
    ) -> BoxFuture<'a, ProviderResult<Vec<String>>>;
    /// Refunds `amount_minor` (all that is left when `None`).
    fn refund<'a>(
        &'a self,
        payment_id: &'a str,
        amount_minor: Option<u64>,
        currency: Currency,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, ProviderResult<ProviderRefund>>;
}
