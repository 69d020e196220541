//! The sync's decisions driven through the in-memory provider, receive by receive as SQS
//! delivers them. The stored payment, its refunds, the order-paid marker and the emitted events
//! are plain values here (events deduplicated as `webhooks::emit` does); the conditional writes
//! and the emits themselves are the black-box suite's.

use super::decision::{self, GiveUp, Ignored, OnProviderError, Step};
use crate::ids::{ProjectId, RefundId};
use crate::payments::model::{Mode, Payment};
use crate::payments::money::Currency;
use crate::payments::provider::fake::{self, FakeProvider};
use crate::payments::provider::{PaymentProvider, ProviderError, ProviderPayment, ProviderRefund};
use crate::payments::refund_store::{self, Refund, RefundStatus};
use crate::payments::status::{Attempts, Status};
use crate::payments::store::Marker;

const ACCOUNT: &str = "987654";
const AMOUNT: u64 = 1000;

/// What became of one received copy of a `provider_payment` message.
#[derive(Debug, PartialEq, Eq)]
enum Receipt {
    /// Handled and acknowledged (applied, or ignored with a reason).
    Acked(Option<Ignored>),
    /// Failed transiently: SQS redelivers.
    Retried(String),
    /// Acknowledged without effect (the provider does not know the payment).
    Dropped,
    /// Failed permanently: the DLQ keeps it.
    Refused(String),
}

/// One stored payment of ours and the provider account it is paid through.
struct Sim {
    provider: FakeProvider,
    payment: Payment,
    refunds: Vec<Refund>,
    marker: Option<Marker>,
    /// Dedupe keys of the events emitted, in order.
    events: Vec<String>,
    now: time::OffsetDateTime,
}

impl Sim {
    fn new() -> Self {
        let now = time::OffsetDateTime::from_unix_timestamp(1_780_000_000).unwrap();
        let at = crate::clock::rfc3339(now);
        let payment = Payment {
            id: crate::ids::PaymentId::at(now),
            project_id: ProjectId::new(),
            order_id: "order-1".into(),
            provider: fake::NAME.into(),
            mode: Mode::Checkout,
            amount_minor: AMOUNT,
            currency: Currency::ARS,
            description: "one thing".into(),
            items: Vec::new(),
            status: Status::Pending,
            status_detail: None,
            refunded_minor: 0,
            provider_payment_id: None,
            checkout_id: Some("checkout".into()),
            redirect_url: None,
            attempts: Attempts::new(),
            closed: false,
            next_check_ms: None,
            version: 1,
            created_at: at.clone(),
            updated_at: at,
        };
        Self {
            provider: FakeProvider::for_account(ACCOUNT),
            payment,
            refunds: Vec::new(),
            marker: None,
            events: Vec::new(),
            now,
        }
    }

    /// A provider payment for our payment, as the provider will report it.
    fn pp(&self, id: &str, status: Status) -> ProviderPayment {
        fake::payment(id, &self.payment.id.to_string(), ACCOUNT, AMOUNT, status)
    }

    fn pp_attempt(&self, status: Status) -> crate::payments::status::Attempt {
        crate::payments::status::Attempt {
            status,
            detail: String::new(),
            refunded_minor: 0,
            seen_at: crate::clock::rfc3339(self.now),
        }
    }

    /// The provider reports provider payment `id` in `status` from now on.
    fn put(&self, id: &str, status: Status) {
        self.provider.put(self.pp(id, status));
    }

    /// One receive (the `receives`-th) of the message for provider payment `id`.
    async fn receive(&mut self, id: &str, receives: u32) -> Receipt {
        self.now += time::Duration::seconds(1);
        match self.provider.fetch_payment(id).await {
            Ok(pp) => Receipt::Acked(self.apply(&pp)),
            Err(e) => match decision::on_provider_error(&e, receives) {
                OnProviderError::Retry => Receipt::Retried(e.to_string()),
                OnProviderError::Drop => Receipt::Dropped,
                OnProviderError::Refuse => Receipt::Refused(e.to_string()),
            },
        }
    }

    /// `sync::apply` over the plain values: step, refunds, announce.
    fn apply(&mut self, pp: &ProviderPayment) -> Option<Ignored> {
        let (id, status) = match decision::owner(self.provider.account_id().as_deref(), pp) {
            Ok(found) => found,
            Err(why) => return Some(why),
        };
        if id != self.payment.id {
            return Some(Ignored::NotOurs);
        }
        match decision::step(&self.payment, pp, status, self.now) {
            Step::Ignore(why) => return Some(why),
            Step::Unchanged => {}
            Step::Change {
                next, newly_paid, ..
            } => {
                if newly_paid && self.marker.is_none() {
                    self.marker = Some(Marker {
                        payment_id: next.id.to_string(),
                        emitted: false,
                    });
                }
                self.payment = *next;
            }
        }
        self.observe_refunds(&pp.refunds);
        self.announce();
        None
    }

    fn observe_refunds(&mut self, seen: &[ProviderRefund]) {
        let seen: Vec<&ProviderRefund> = seen.iter().filter(|r| !r.id.is_empty()).collect();
        let mut settle = Vec::new();
        let mut record = Vec::new();
        for change in refund_store::plan(&self.refunds, &seen) {
            match change {
                refund_store::Change::Settle(r, status) => settle.push((r.id, status)),
                refund_store::Change::Record(pr) => record.push(pr.clone()),
            }
        }
        for (id, status) in settle {
            if let Some(r) = self.refunds.iter_mut().find(|r| r.id == id) {
                r.status = status;
            }
        }
        let at = crate::clock::rfc3339(self.now);
        for pr in record {
            let id = RefundId::at(self.now);
            self.refunds.push(Refund::new(id, &self.payment, &pr, &at));
        }
    }

    fn announce(&mut self) {
        let key = decision::updated_dedupe(&self.payment);
        if !self.events.contains(&key) {
            self.events.push(key);
        }
        if decision::owes_order_paid(&self.payment, self.marker.as_ref()) {
            self.events
                .push(format!("order.paid:{}", self.payment.order_id));
            if let Some(m) = &mut self.marker {
                m.emitted = true;
            }
        }
    }

    fn order_paid_events(&self) -> usize {
        self.events
            .iter()
            .filter(|e| e.starts_with("order.paid"))
            .count()
    }
}

#[tokio::test]
async fn pending_then_approved_pays_the_order_once() {
    let mut sim = Sim::new();
    sim.put("1", Status::Pending);
    assert_eq!(sim.receive("1", 1).await, Receipt::Acked(None));
    assert_eq!(sim.payment.status, Status::Pending);
    assert!(sim.marker.is_none());
    sim.put("1", Status::Paid);
    assert_eq!(sim.receive("1", 1).await, Receipt::Acked(None));
    assert_eq!(sim.payment.status, Status::Paid);
    assert_eq!(sim.payment.provider_payment_id.as_deref(), Some("1"));
    assert_eq!(sim.events.len(), 3, "{:?}", sim.events);
    assert_eq!(sim.order_paid_events(), 1);
}

#[tokio::test]
async fn the_same_notification_replayed_changes_and_emits_nothing_more() {
    let mut sim = Sim::new();
    sim.put("1", Status::Paid);
    sim.receive("1", 1).await;
    let (version, events) = (sim.payment.version, sim.events.clone());
    for receives in 1..=3 {
        assert_eq!(sim.receive("1", receives).await, Receipt::Acked(None));
    }
    assert_eq!(sim.payment.version, version);
    assert_eq!(sim.events, events);
    assert_eq!(sim.order_paid_events(), 1);
}

#[tokio::test]
async fn refunds_move_the_payment_to_partially_then_fully_refunded() {
    let mut sim = Sim::new();
    sim.put("1", Status::Paid);
    sim.receive("1", 1).await;
    sim.provider
        .refund("1", Some(300), Currency::ARS, "k1")
        .await
        .unwrap();
    sim.receive("1", 1).await;
    assert_eq!(
        (sim.payment.status, sim.payment.refunded_minor),
        (Status::PartiallyRefunded, 300)
    );
    sim.provider
        .refund("1", None, Currency::ARS, "k2")
        .await
        .unwrap();
    sim.receive("1", 1).await;
    assert_eq!(
        (sim.payment.status, sim.payment.refunded_minor),
        (Status::Refunded, AMOUNT)
    );
    let amounts: Vec<u64> = sim.refunds.iter().map(|r| r.amount_minor).collect();
    assert_eq!(amounts, [300, 700]);
    // One `payment.updated` per state (pending never seen), one `order.paid`.
    assert_eq!(sim.events.len(), 4, "{:?}", sim.events);
    assert_eq!(sim.order_paid_events(), 1);
    assert!(matches!(
        sim.provider.refund("1", None, Currency::ARS, "k3").await,
        Err(ProviderError::NothingToRefund)
    ));
}

#[tokio::test]
async fn refunds_made_at_the_provider_are_recorded_once_and_settle_once() {
    let mut sim = Sim::new();
    let mut pp = sim.pp("1", Status::PartiallyRefunded);
    pp.refunded_minor = 250;
    pp.refunds.push(ProviderRefund {
        id: "r-dashboard".into(),
        amount_minor: 250,
        status: RefundStatus::Pending,
        created_at: None,
    });
    sim.provider.put(pp.clone());
    for _ in 0..3 {
        sim.receive("1", 1).await;
    }
    assert_eq!(sim.refunds.len(), 1);
    assert_eq!(sim.refunds[0].status, RefundStatus::Pending);
    pp.refunds[0].status = RefundStatus::Approved;
    sim.provider.put(pp.clone());
    sim.receive("1", 1).await;
    assert_eq!(sim.refunds.len(), 1);
    assert_eq!(sim.refunds[0].status, RefundStatus::Approved);
    // Final statuses never change again, and a recorded refund is never recorded twice.
    let seen: Vec<&ProviderRefund> = pp.refunds.iter().collect();
    assert!(refund_store::plan(&sim.refunds, &seen).is_empty());
}

#[tokio::test]
async fn a_late_older_notification_does_not_regress_a_paid_payment() {
    let mut sim = Sim::new();
    sim.put("1", Status::Paid);
    sim.receive("1", 1).await;
    let (version, events) = (sim.payment.version, sim.events.clone());
    // The provider answers with an older state (a stale replica, a delayed notification).
    sim.put("1", Status::Pending);
    assert_eq!(sim.receive("1", 1).await, Receipt::Acked(None));
    assert_eq!(sim.payment.status, Status::Paid);
    assert_eq!((sim.payment.version, &sim.events), (version, &events));
    // A rejected second attempt on the same checkout does not unpay it either.
    sim.put("2", Status::Failed);
    sim.receive("2", 1).await;
    assert_eq!(sim.payment.status, Status::Paid);
    assert_eq!(sim.payment.provider_payment_id.as_deref(), Some("1"));
}

#[tokio::test]
async fn a_rejected_attempt_then_an_approved_one_pays() {
    let mut sim = Sim::new();
    sim.put("1", Status::Failed);
    sim.receive("1", 1).await;
    assert_eq!(sim.payment.status, Status::Failed);
    sim.put("2", Status::Paid);
    sim.provider.notice("55", &["1", "2"]);
    for id in sim.provider.notice_payments("55").await.unwrap() {
        sim.receive(&id, 1).await;
    }
    assert_eq!(sim.payment.status, Status::Paid);
    assert_eq!(sim.payment.provider_payment_id.as_deref(), Some("2"));
    assert_eq!(sim.order_paid_events(), 1);
}

#[tokio::test]
async fn a_chargeback_after_payment_is_applied_without_a_second_order_paid() {
    let mut sim = Sim::new();
    sim.put("1", Status::Paid);
    sim.receive("1", 1).await;
    sim.put("1", Status::Disputed);
    sim.receive("1", 1).await;
    assert_eq!(sim.payment.status, Status::Disputed);
    sim.put("1", Status::ChargedBack);
    sim.receive("1", 1).await;
    assert_eq!(sim.payment.status, Status::ChargedBack);
    assert_eq!(sim.order_paid_events(), 1);
}

#[tokio::test]
async fn a_payment_first_seen_charged_back_never_pays_the_order() {
    let mut sim = Sim::new();
    sim.put("1", Status::ChargedBack);
    sim.receive("1", 1).await;
    assert_eq!(sim.payment.status, Status::ChargedBack);
    assert!(sim.marker.is_none());
    assert_eq!(sim.order_paid_events(), 0);
}

#[tokio::test]
async fn an_unavailable_provider_is_retried() {
    let mut sim = Sim::new();
    sim.put("1", Status::Paid);
    sim.provider
        .fail_next(ProviderError::Unavailable("HTTP 503".into()));
    assert_eq!(
        sim.receive("1", 1).await,
        Receipt::Retried("payment provider unavailable: HTTP 503".into())
    );
    assert_eq!(sim.payment.status, Status::Pending);
    assert_eq!(sim.receive("1", 2).await, Receipt::Acked(None));
    assert_eq!(sim.payment.status, Status::Paid);
}

#[tokio::test]
async fn not_found_is_retried_for_a_while_then_dropped() {
    let mut sim = Sim::new();
    let not_found = Receipt::Retried("not found at the payment provider".into());
    assert_eq!(sim.receive("404", 1).await, not_found);
    assert_eq!(sim.receive("404", 2).await, not_found);
    assert_eq!(sim.receive("404", 3).await, Receipt::Dropped);
    // Found on a retry (eventual consistency at the provider): applied.
    sim.put("405", Status::Paid);
    assert_eq!(sim.receive("405", 2).await, Receipt::Acked(None));
    assert_eq!(sim.events.len(), 2);
}

#[tokio::test]
async fn refused_credentials_go_to_the_dlq() {
    let mut sim = Sim::new();
    sim.provider.fail_next(ProviderError::Unauthorized);
    let receipt = sim.receive("1", 1).await;
    assert!(matches!(receipt, Receipt::Refused(_)), "{receipt:?}");
}

#[tokio::test]
async fn payments_of_another_account_are_refused() {
    let mut sim = Sim::new();
    let mut pp = sim.pp("1", Status::Paid);
    pp.account_id = Some("111".into());
    sim.provider.put(pp);
    let ignored = Receipt::Acked(Some(Ignored::OtherAccount));
    assert_eq!(sim.receive("1", 1).await, ignored);
    assert_eq!(sim.payment.status, Status::Pending);
    assert!(sim.events.is_empty());
}

#[tokio::test]
async fn mismatched_unknown_and_foreign_payments_are_ignored() {
    let mut sim = Sim::new();
    let mut amount = sim.pp("1", Status::Paid);
    amount.amount_minor = 1;
    let mut currency = sim.pp("2", Status::Paid);
    currency.currency = Some(Currency::BRL);
    let mut unknown = sim.pp("3", Status::Paid);
    unknown.status = None;
    let mut foreign = sim.pp("4", Status::Paid);
    foreign.external_reference = Some("someone-else".into());
    let cases = [
        (amount, Ignored::AmountDiffers),
        (currency, Ignored::AmountDiffers),
        (unknown, Ignored::UnknownStatus),
        (foreign, Ignored::NotOurs),
    ];
    for (pp, why) in cases {
        let id = pp.id.clone();
        sim.provider.put(pp);
        assert_eq!(sim.receive(&id, 1).await, Receipt::Acked(Some(why)));
    }
    assert_eq!(sim.payment.status, Status::Pending);
    assert!(sim.events.is_empty());
}

#[test]
fn only_visible_changes_are_recorded_and_only_the_first_pay_writes_a_marker() {
    let sim = Sim::new();
    let now = sim.now;
    let Step::Change {
        next,
        visible,
        newly_paid,
    } = decision::step(
        &sim.payment,
        &sim.pp("1", Status::Pending),
        Status::Pending,
        now,
    )
    else {
        panic!("a first attempt is a change");
    };
    // Pending → pending with a provider payment id now: visible, pays nothing.
    assert!(visible && !newly_paid);
    let paid = sim.pp("1", Status::Paid);
    let Step::Change { newly_paid, .. } = decision::step(&next, &paid, Status::Paid, now) else {
        panic!("paid moves the attempt forward");
    };
    assert!(newly_paid);
}

#[test]
fn reconciliation_gives_up_after_three_days_expiring_only_untouched_checkouts() {
    let mut sim = Sim::new();
    let created = sim.now;
    let id = sim.payment.id;
    assert!(!decision::past_give_up(
        &id,
        created + time::Duration::days(3)
    ));
    let later = created + time::Duration::days(3) + time::Duration::seconds(1);
    assert!(decision::past_give_up(&id, later));
    let GiveUp::Expire(expired) = decision::give_up(&sim.payment, later) else {
        panic!("a checkout never attempted expires");
    };
    assert_eq!(expired.status, Status::Cancelled);
    assert_eq!(expired.status_detail.as_deref(), Some("expired"));
    assert!(expired.closed && expired.version == sim.payment.version + 1);
    assert!(matches!(decision::give_up(&expired, later), GiveUp::Closed));
    // A rejected attempt: closed as it stands, still failed.
    sim.payment.status = Status::Failed;
    sim.payment
        .attempts
        .insert("1".into(), sim.pp_attempt(Status::Failed));
    let GiveUp::Close(closed) = decision::give_up(&sim.payment, later) else {
        panic!("an attempted payment is closed, not expired");
    };
    assert_eq!((closed.status, closed.closed), (Status::Failed, true));
    sim.payment.status = Status::Paid;
    assert!(matches!(
        decision::give_up(&sim.payment, later),
        GiveUp::Closed
    ));
}
