//! An in-memory payment provider for unit tests of the sync's decisions: it reports the
//! payments a test puts in it, answers scripted failures first, and records refunds as a
//! provider would (amount refunded, status moved on). Provider behaviour itself (Mercado Pago's
//! wire format, its status table) is tested against the sandbox and the black-box suite,
//! never against this.

use super::*;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

pub const NAME: &str = "fake";

#[derive(Default)]
struct Inner {
    payments: BTreeMap<String, ProviderPayment>,
    notices: BTreeMap<String, Vec<String>>,
    failures: VecDeque<ProviderError>,
    refunds: u32,
}

/// One provider account holding the payments tests put in it.
#[derive(Default)]
pub struct FakeProvider {
    account: Option<String>,
    inner: Mutex<Inner>,
}

impl FakeProvider {
    /// A provider whose payments must belong to `account` (see `account_id`).
    pub fn for_account(account: &str) -> Self {
        Self {
            account: Some(account.to_owned()),
            inner: Mutex::default(),
        }
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What the provider reports for `p.id` from now on.
    pub fn put(&self, p: ProviderPayment) {
        self.inner().payments.insert(p.id.clone(), p);
    }

    /// The payment as the provider holds it now.
    pub fn get(&self, id: &str) -> Option<ProviderPayment> {
        self.inner().payments.get(id).cloned()
    }

    /// A notification `reference` naming these payments.
    pub fn notice(&self, reference: &str, ids: &[&str]) {
        let ids = ids.iter().map(|i| (*i).to_owned()).collect();
        self.inner().notices.insert(reference.to_owned(), ids);
    }

    /// The next call (of any kind) fails with `e`; several queue up in order.
    pub fn fail_next(&self, e: ProviderError) {
        self.inner().failures.push_back(e);
    }

    fn next_failure(&self) -> ProviderResult<()> {
        self.inner().failures.pop_front().map_or(Ok(()), Err)
    }
}

/// A provider payment of `amount_minor` ARS for our payment `reference`, in `status`, on
/// `account`.
pub fn payment(
    id: &str,
    reference: &str,
    account: &str,
    amount_minor: u64,
    status: Status,
) -> ProviderPayment {
    ProviderPayment {
        id: id.to_owned(),
        status: Some(status),
        raw_status: status.as_str().to_owned(),
        status_detail: String::new(),
        amount_minor,
        refunded_minor: 0,
        currency: Some(Currency::ARS),
        external_reference: Some(reference.to_owned()),
        account_id: Some(account.to_owned()),
        refunds: Vec::new(),
    }
}

impl PaymentProvider for FakeProvider {
    fn name(&self) -> &'static str {
        NAME
    }

    fn account_id(&self) -> Option<String> {
        self.account.clone()
    }

    fn create_checkout<'a>(&'a self, p: &'a NewPayment) -> BoxFuture<'a, ProviderResult<Checkout>> {
        let out = self.next_failure().map(|()| Checkout {
            checkout_id: format!("checkout-{}", p.reference),
            redirect_url: format!("https://fake.invalid/checkout/{}", p.reference),
        });
        Box::pin(async move { out })
    }

    fn charge_card<'a>(
        &'a self,
        p: &'a NewPayment,
        _card: &'a CardCharge,
    ) -> BoxFuture<'a, ProviderResult<ProviderPayment>> {
        let out = self.next_failure().map(|()| {
            let mut inner = self.inner();
            let id = (inner.payments.len() + 1).to_string();
            let account = self.account.clone().unwrap_or_default();
            let mut charged = payment(&id, &p.reference, &account, p.amount_minor, Status::Paid);
            charged.currency = Some(p.currency);
            inner.payments.insert(id, charged.clone());
            charged
        });
        Box::pin(async move { out })
    }

    fn fetch_payment<'a>(&'a self, id: &'a str) -> BoxFuture<'a, ProviderResult<ProviderPayment>> {
        let out = self
            .next_failure()
            .and_then(|()| self.get(id).ok_or(ProviderError::NotFound));
        Box::pin(async move { out })
    }

    fn find_payments<'a>(
        &'a self,
        reference: &'a str,
    ) -> BoxFuture<'a, ProviderResult<Vec<String>>> {
        let out = self.next_failure().map(|()| {
            let inner = self.inner();
            let ours = inner
                .payments
                .values()
                .filter(|p| p.external_reference.as_deref() == Some(reference));
            ours.map(|p| p.id.clone()).collect()
        });
        Box::pin(async move { out })
    }

    fn notice_payments<'a>(
        &'a self,
        reference: &'a str,
    ) -> BoxFuture<'a, ProviderResult<Vec<String>>> {
        let out = self.next_failure().and_then(|()| {
            let ids = self.inner().notices.get(reference).cloned();
            ids.ok_or(ProviderError::NotFound)
        });
        Box::pin(async move { out })
    }

    fn refund<'a>(
        &'a self,
        payment_id: &'a str,
        amount_minor: Option<u64>,
        _currency: Currency,
        _idempotency_key: &'a str,
    ) -> BoxFuture<'a, ProviderResult<ProviderRefund>> {
        let out = self.next_failure().and_then(|()| {
            let mut inner = self.inner();
            inner.refunds += 1;
            let refund_id = format!("r{}", inner.refunds);
            let p = inner
                .payments
                .get_mut(payment_id)
                .ok_or(ProviderError::NotFound)?;
            let left = p.amount_minor.saturating_sub(p.refunded_minor);
            let amount = amount_minor.unwrap_or(left);
            if amount == 0 || amount > left {
                return Err(ProviderError::NothingToRefund);
            }
            let refund = ProviderRefund {
                id: refund_id,
                amount_minor: amount,
                status: RefundStatus::Approved,
                created_at: None,
            };
            p.refunded_minor += amount;
            p.status = Some(if p.refunded_minor == p.amount_minor {
                Status::Refunded
            } else {
                Status::PartiallyRefunded
            });
            p.refunds.push(refund.clone());
            Ok(refund)
        });
        Box::pin(async move { out })
    }
}
