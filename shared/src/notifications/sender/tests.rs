//! The sender's decisions driven through the in-memory transport, receive by receive as SQS
//! delivers them. The notification's status is a plain value here: the conditional writes
//! that move it in DynamoDB (claim, release, mark sent / failed) are the black-box suite's.

use super::decision::{self, After, OnError, PutBack};
use super::{MAX_RECEIVES, MAX_THROTTLES};
use crate::ids::ProjectId;
use crate::notifications::model::Status;
use crate::notifications::transport::fake::{Call, FakeTransport};
use crate::notifications::transport::{Outcome, Outgoing, Transport};
use crate::templates::Rendered;
use crate::tenancy::{Plan, Project};

/// What became of one received copy of the queue message.
#[derive(Debug, PartialEq, Eq)]
enum Receipt {
    /// Handled: acknowledged (sent, terminal, or a duplicate).
    Acked,
    /// Acknowledged after queueing a fresh copy with this throttle count.
    PutBack(u32),
    /// Failed: SQS redelivers after this many seconds.
    Redelivered(i32),
    /// Failed on the last receive: the message goes to the DLQ.
    DeadLettered,
}

/// One notification and the transport it goes through.
struct Sim {
    transport: FakeTransport,
    project: Project,
    status: Status,
    reason: Option<String>,
    message_id: Option<String>,
}

impl Sim {
    fn new(outcomes: impl IntoIterator<Item = Outcome>) -> Self {
        let project = Project {
            id: ProjectId::new(),
            name: "p".into(),
            domain: "p.example.com".into(),
            plan: Plan::Free,
            active: true,
            flags: Default::default(),
            limit_overrides: Default::default(),
            contact_email: None,
            email_from: None,
            providers: Default::default(),
            created_at: String::new(),
            updated_at: String::new(),
        };
        Self {
            transport: FakeTransport::answering(outcomes),
            project,
            status: Status::Pending,
            reason: None,
            message_id: None,
        }
    }

    /// One receive, as `sender::handle` treats it: claim (only a `pending` notification),
    /// send, record the decision; a failed receive gets the receive-level decision.
    async fn receive(&mut self, receives: u32, throttles: u32) -> Receipt {
        if self.status != Status::Pending {
            return Receipt::Acked; // Not claimed: a duplicate delivery.
        }
        self.status = Status::Sending;
        let rendered = Rendered::WhatsAppText {
            body: "hola".into(),
        };
        let message = Outgoing {
            project: &self.project,
            notification_id: "ntf_1",
            recipient: "+5491100000000",
            rendered: &rendered,
        };
        let outcome = self.transport.send(&message).await;
        match decision::after_send(outcome) {
            After::Sent(id) => {
                self.status = Status::Sent;
                self.message_id = Some(id);
                return Receipt::Acked;
            }
            After::PutBack(_) => {
                self.status = Status::Pending;
                return match decision::put_back(throttles) {
                    PutBack::Requeue { throttles, .. } => Receipt::PutBack(throttles),
                    PutBack::GiveUp => self.fail("throttled"),
                };
            }
            After::Retry(_) => self.status = Status::Pending,
            After::Fail { reason, .. } => return self.fail(&reason),
        }
        match decision::on_error(receives) {
            OnError::Backoff(delay) => Receipt::Redelivered(delay),
            OnError::LastReceive => {
                self.fail(decision::last_receive_reason(Some(self.status)));
                Receipt::DeadLettered
            }
        }
    }

    fn fail(&mut self, reason: &str) -> Receipt {
        self.status = Status::Failed;
        self.reason = Some(reason.to_owned());
        Receipt::Acked
    }
}

fn transient() -> Outcome {
    Outcome::Transient("ses_unreachable".into())
}

#[tokio::test]
async fn a_transient_failure_is_retried_until_the_last_receive() {
    let mut sim = Sim::new(std::iter::repeat_with(transient).take(MAX_RECEIVES as usize));
    let mut delays = Vec::new();
    for receives in 1..MAX_RECEIVES {
        let Receipt::Redelivered(delay) = sim.receive(receives, 0).await else {
            panic!("receive {receives} was not retried");
        };
        assert_eq!(
            sim.status,
            Status::Pending,
            "not terminal before the last receive"
        );
        delays.push(delay);
    }
    assert_eq!(delays, [4, 8, 16], "exponential backoff");
    assert_eq!(sim.receive(MAX_RECEIVES, 0).await, Receipt::DeadLettered);
    assert_eq!(sim.status, Status::Failed);
    assert_eq!(sim.reason.as_deref(), Some("retries_exhausted"));
    assert_eq!(sim.transport.calls().len(), MAX_RECEIVES as usize);
}

#[tokio::test]
async fn a_transient_failure_then_success_is_sent() {
    let mut sim = Sim::new([transient(), Outcome::Accepted("m-2".into())]);
    assert!(matches!(sim.receive(1, 0).await, Receipt::Redelivered(_)));
    assert_eq!(sim.receive(2, 0).await, Receipt::Acked);
    assert_eq!(sim.status, Status::Sent);
    assert_eq!(sim.message_id.as_deref(), Some("m-2"));
}

#[tokio::test]
async fn throttling_puts_back_without_spending_receives() {
    // More throttles than the queue has receives: none of them counts.
    let throttled = (MAX_RECEIVES + 3) as usize;
    let outcomes = std::iter::repeat_with(|| Outcome::Throttled("ses:TooManyRequests".into()))
        .take(throttled)
        .chain([Outcome::Accepted("m-1".into())]);
    let mut sim = Sim::new(outcomes);
    let mut throttles = 0;
    loop {
        // Each put-back is a fresh message: its first receive.
        match sim.receive(1, throttles).await {
            Receipt::PutBack(next) => {
                assert_eq!(next, throttles + 1);
                assert_eq!(sim.status, Status::Pending, "the claim is released");
                throttles = next;
            }
            Receipt::Acked => break,
            other => panic!("throttling failed the receive: {other:?}"),
        }
    }
    assert_eq!(throttles as usize, throttled);
    assert_eq!(sim.status, Status::Sent);
    assert_eq!(sim.transport.calls().len(), throttled + 1);
}

#[tokio::test]
async fn throttled_too_often_fails_throttled() {
    let mut sim = Sim::new([Outcome::Throttled("whatsapp:130429: rate".into())]);
    assert_eq!(sim.receive(1, MAX_THROTTLES).await, Receipt::Acked);
    assert_eq!(sim.status, Status::Failed);
    assert_eq!(sim.reason.as_deref(), Some("throttled"));
}

#[test]
fn put_back_delays_grow_and_are_capped() {
    assert_eq!(
        decision::put_back(0),
        PutBack::Requeue {
            throttles: 1,
            max_delay_s: 1
        }
    );
    assert_eq!(
        decision::put_back(500),
        PutBack::Requeue {
            throttles: 501,
            max_delay_s: 20
        }
    );
    assert_eq!(decision::put_back(MAX_THROTTLES), PutBack::GiveUp);
}

#[tokio::test]
async fn an_ambiguous_failure_ends_outcome_unknown_and_is_never_resent() {
    // Scripted once: a second send would panic in the fake.
    let mut sim = Sim::new([Outcome::Unknown("ses_connection_lost".into())]);
    assert_eq!(sim.receive(1, 0).await, Receipt::Acked);
    assert_eq!(sim.status, Status::Failed);
    assert_eq!(sim.reason.as_deref(), Some("outcome_unknown"));
    for receives in 2..=MAX_RECEIVES {
        assert_eq!(sim.receive(receives, 0).await, Receipt::Acked);
    }
    assert_eq!(sim.transport.calls().len(), 1);
    assert_eq!(
        decision::after_send(Outcome::Unknown("whatsapp:131000: x".into())),
        After::Fail {
            reason: "outcome_unknown".into(),
            unknown: Some("whatsapp:131000: x".into())
        }
    );
}

#[test]
fn a_claim_left_sending_is_unknown_once_its_lease_is_over() {
    // A crash between the provider call and the record leaves `sending`.
    assert_eq!(
        decision::last_receive_reason(Some(Status::Sending)),
        "outcome_unknown"
    );
    assert_eq!(
        decision::last_receive_reason(Some(Status::Pending)),
        "retries_exhausted"
    );
    assert_eq!(decision::last_receive_reason(None), "retries_exhausted");
    let now = 1_000_000;
    assert!(decision::claim_is_live(
        now - super::CLAIM_LEASE_SECONDS + 1,
        now
    ));
    assert!(!decision::claim_is_live(
        now - super::CLAIM_LEASE_SECONDS,
        now
    ));
}

#[tokio::test]
async fn a_rejection_is_terminal_with_the_providers_reason() {
    let reason = "ses:MessageRejected: Email address is not verified.";
    let mut sim = Sim::new([Outcome::Permanent(reason.into())]);
    assert_eq!(sim.receive(1, 0).await, Receipt::Acked);
    assert_eq!(sim.status, Status::Failed);
    assert_eq!(sim.reason.as_deref(), Some(reason));
    assert_eq!(sim.receive(2, 0).await, Receipt::Acked);
    assert_eq!(sim.transport.calls().len(), 1, "a rejection is not resent");
}

#[tokio::test]
async fn a_success_records_the_providers_message_id() {
    let mut sim = Sim::new([Outcome::Accepted("wamid.HBgL".into())]);
    assert_eq!(sim.receive(1, 0).await, Receipt::Acked);
    assert_eq!(sim.status, Status::Sent);
    assert_eq!(sim.message_id.as_deref(), Some("wamid.HBgL"));
    assert_eq!(
        sim.transport.calls(),
        [Call {
            notification_id: "ntf_1".into(),
            recipient: "+5491100000000".into(),
        }]
    );
}
