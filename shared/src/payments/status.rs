//! Normalised payment statuses and the monotonic state machine.
//!
//! One Mostrador payment can see several provider payments (attempts: a rejected card, then
//! an approved one on the same checkout). Each attempt only ever moves forward; the payment's
//! status is the best of its attempts (any paid attempt makes it paid; a pending attempt beats
//! a failed one). Duplicate, late and out-of-order observations therefore never regress a
//! paid payment, and "became paid" happens at most once.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = PaymentStatus)]
pub enum Status {
    Pending,
    Paid,
    Failed,
    Cancelled,
    Refunded,
    PartiallyRefunded,
    Disputed,
    ChargedBack,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Self::Pending,
        Self::Paid,
        Self::Failed,
        Self::Cancelled,
        Self::Refunded,
        Self::PartiallyRefunded,
        Self::Disputed,
        Self::ChargedBack,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Paid => "paid",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Refunded => "refunded",
            Self::PartiallyRefunded => "partially_refunded",
            Self::Disputed => "disputed",
            Self::ChargedBack => "charged_back",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The money was collected at some point (refunds and disputes included).
    pub fn is_paid(self) -> bool {
        matches!(
            self,
            Self::Paid
                | Self::PartiallyRefunded
                | Self::Disputed
                | Self::Refunded
                | Self::ChargedBack
        )
    }

    /// Whether first seeing a payment in this status pays its order (`order.paid`): money
    /// collected and not (yet) returned. A payment first seen already refunded or charged back
    /// (its approval notification was lost) never paid the order as far as the shop can act
    /// on it, so it emits no `order.paid`; its `payment.updated` carries the truth.
    pub fn pays_order(self) -> bool {
        matches!(self, Self::Paid | Self::PartiallyRefunded | Self::Disputed)
    }

    fn rank(self) -> u8 {
        match self {
            Self::Pending => 0,
            Self::Failed | Self::Cancelled => 1,
            Self::Paid => 2,
            Self::PartiallyRefunded => 3,
            Self::Disputed => 4,
            Self::Refunded | Self::ChargedBack => 5,
        }
    }

    /// How much an attempt in this status counts toward the payment's status.
    fn class(self) -> u8 {
        match self {
            s if s.is_paid() => 2,
            Self::Pending => 1,
            _ => 0,
        }
    }
}

/// Whether a change from `before` to `after` pays the order (writes the order-paid marker):
/// the payment was not paid before and now [`Status::pays_order`].
pub fn newly_pays_order(before: Status, after: Status) -> bool {
    !before.is_paid() && after.pays_order()
}

/// A refund's status, normalised from the provider's. `pending` moves once to one of the
/// others; those are final.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    /// Accepted by the provider, money not returned yet (Mercado Pago `in_process`,
    /// `pending`, `authorized`, or a status we do not know).
    Pending,
    /// The money went back to the payer (Mercado Pago `approved`).
    Approved,
    /// The provider refused it (Mercado Pago `rejected`).
    Rejected,
    /// Withdrawn before it completed (Mercado Pago `cancelled`).
    Cancelled,
}

impl RefundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Cancelled => "cancelled",
        }
    }
}

/// One provider payment as last applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub status: Status,
    pub detail: String,
    pub refunded_minor: u64,
    /// When it was first seen (RFC 3339); orders attempts of equal standing.
    pub seen_at: String,
}

/// Whether observing `next` on an attempt currently at `cur` moves it forward.
pub fn advances(cur: &Attempt, next: &Attempt) -> bool {
    if next.refunded_minor < cur.refunded_minor {
        return false;
    }
    if next.status == cur.status {
        return next.refunded_minor > cur.refunded_minor;
    }
    // A dispute the seller wins returns the payment to approved.
    if cur.status == Status::Disputed
        && matches!(next.status, Status::Paid | Status::PartiallyRefunded)
    {
        return true;
    }
    next.status.rank() > cur.status.rank()
}

pub type Attempts = BTreeMap<String, Attempt>;

/// The attempt that decides the payment's status.
pub fn decisive(attempts: &Attempts) -> Option<(&String, &Attempt)> {
    attempts.iter().max_by(|a, b| {
        let key = |x: &Attempt| (x.status.class(), x.status.rank(), x.seen_at.clone());
        key(a.1).cmp(&key(b.1))
    })
}

/// Records `observed` for provider payment `provider_id` if it moves that attempt forward.
/// Returns whether anything changed.
pub fn observe(attempts: &mut Attempts, provider_id: &str, observed: Attempt) -> bool {
    match attempts.get_mut(provider_id) {
        Some(cur) if !advances(cur, &observed) => false,
        Some(cur) => {
            let seen_at = std::mem::take(&mut cur.seen_at);
            *cur = Attempt {
                seen_at,
                ..observed
            };
            true
        }
        None => {
            attempts.insert(provider_id.to_owned(), observed);
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn att(status: Status, refunded: u64, seen: u32) -> Attempt {
        Attempt {
            status,
            detail: String::new(),
            refunded_minor: refunded,
            seen_at: format!("{seen:04}"),
        }
    }

    #[test]
    fn rejected_then_approved_is_paid_and_late_rejection_changes_nothing() {
        let mut a = Attempts::new();
        assert!(observe(&mut a, "1", att(Status::Failed, 0, 1)));
        assert_eq!(decisive(&a).unwrap().1.status, Status::Failed);
        assert!(observe(&mut a, "2", att(Status::Pending, 0, 2)));
        assert_eq!(decisive(&a).unwrap().1.status, Status::Pending);
        assert!(observe(&mut a, "2", att(Status::Paid, 0, 3)));
        assert!(!observe(&mut a, "2", att(Status::Pending, 0, 4)));
        assert!(!observe(&mut a, "1", att(Status::Failed, 0, 5)));
        assert!(observe(&mut a, "2", att(Status::PartiallyRefunded, 100, 6)));
        assert!(!observe(&mut a, "2", att(Status::Paid, 0, 7)));
        assert!(observe(&mut a, "2", att(Status::PartiallyRefunded, 300, 8)));
        assert!(observe(&mut a, "2", att(Status::Refunded, 1000, 9)));
        let (id, d) = decisive(&a).unwrap();
        assert_eq!((id.as_str(), d.status), ("2", Status::Refunded));
    }

    #[test]
    fn only_collected_unreturned_money_pays_the_order() {
        let paying: Vec<_> = Status::ALL.into_iter().filter(|s| s.pays_order()).collect();
        assert_eq!(
            paying,
            [Status::Paid, Status::PartiallyRefunded, Status::Disputed]
        );
        // Everything that pays an order is paid; refunded and charged back are paid but do not.
        assert!(paying.iter().all(|s| s.is_paid()));
        assert!(Status::Refunded.is_paid() && !Status::Refunded.pays_order());
        assert!(Status::ChargedBack.is_paid() && !Status::ChargedBack.pays_order());
    }

    fn any_status() -> impl Strategy<Value = Status> {
        (0usize..8).prop_map(|i| Status::ALL[i])
    }

    proptest! {
        /// Any sequence of observations over a few attempts (duplicates, late, out of order)
        /// never takes a paid payment out of the paid family, and the payment becomes paid
        /// exactly once if any attempt was ever observed paid.
        #[test]
        fn paid_never_regresses_and_becomes_paid_once(
            steps in proptest::collection::vec((0u8..3, any_status(), 0u64..3), 0..40)
        ) {
            let mut attempts = Attempts::new();
            let mut was_paid = false;
            let mut became_paid = 0;
            for (n, (attempt, status, refunded)) in steps.iter().enumerate() {
                let before = decisive(&attempts).map(|(_, a)| a.status);
                // Only collected money can be refunded (as Mercado Pago reports it).
                let refunded = if status.is_paid() { *refunded } else { 0 };
                observe(&mut attempts, &attempt.to_string(), att(*status, refunded, n as u32));
                let after = decisive(&attempts).map(|(_, a)| a.status);
                let before_paid = before.is_some_and(Status::is_paid);
                let after_paid = after.is_some_and(Status::is_paid);
                if was_paid {
                    prop_assert!(after_paid, "regressed from paid to {after:?}");
                }
                if !before_paid && after_paid {
                    became_paid += 1;
                }
                was_paid = after_paid;
            }
            let ever_paid = steps.iter().any(|(_, s, _)| s.is_paid());
            prop_assert_eq!(became_paid, usize::from(ever_paid));
        }

        /// `order.paid` (the sync's rule over the payment's status before and after each
        /// observation) fires at most once, and never when no observation was of collected,
        /// unreturned money (e.g. the approval was lost and the first news is a refund).
        #[test]
        fn order_paid_at_most_once_and_never_from_a_refund_alone(
            steps in proptest::collection::vec((0u8..3, any_status(), 0u64..3), 0..40)
        ) {
            let mut attempts = Attempts::new();
            let mut fired = 0;
            for (n, (attempt, status, refunded)) in steps.iter().enumerate() {
                let before = decisive(&attempts).map_or(Status::Pending, |(_, a)| a.status);
                let refunded = if status.is_paid() { *refunded } else { 0 };
                observe(&mut attempts, &attempt.to_string(), att(*status, refunded, n as u32));
                let after = decisive(&attempts).map_or(Status::Pending, |(_, a)| a.status);
                if newly_pays_order(before, after) {
                    fired += 1;
                }
            }
            prop_assert!(fired <= 1);
            if !steps.iter().any(|(_, s, _)| s.pays_order()) {
                prop_assert_eq!(fired, 0);
            }
        }

        /// The refunded amount of an attempt only ever grows.
        #[test]
        fn refunds_never_decrease(
            steps in proptest::collection::vec((any_status(), 0u64..5), 0..30)
        ) {
            let mut attempts = Attempts::new();
            let mut max_refunded = 0;
            for (n, (status, refunded)) in steps.iter().enumerate() {
                observe(&mut attempts, "1", att(*status, *refunded, n as u32));
                let now = attempts.get("1").map(|a| a.refunded_minor).unwrap_or(0);
                prop_assert!(now >= max_refunded);
                max_refunded = now;
            }
        }
    }
}
