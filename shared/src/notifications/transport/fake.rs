//! An in-memory transport for unit tests of the sender's logic: it records every send and
//! answers with scripted outcomes. Provider behaviour itself is tested against sockets
//! (`socket_tests`) and the emulators, never against this.

use std::collections::VecDeque;
use std::sync::Mutex;

use futures::future::BoxFuture;
use futures::FutureExt;

use super::{Outcome, Outgoing, Transport};

/// One recorded send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub notification_id: String,
    pub recipient: String,
}

/// Answers each send with the next scripted outcome (and panics when the script runs out:
/// a test that sends more than it expected should fail loudly).
#[derive(Default)]
pub struct FakeTransport {
    script: Mutex<VecDeque<Outcome>>,
    calls: Mutex<Vec<Call>>,
}

impl FakeTransport {
    pub fn answering(outcomes: impl IntoIterator<Item = Outcome>) -> Self {
        Self {
            script: Mutex::new(outcomes.into_iter().collect()),
            calls: Mutex::default(),
        }
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
}

impl Transport for FakeTransport {
    fn send<'a>(&'a self, message: &'a Outgoing<'a>) -> BoxFuture<'a, Outcome> {
        self.calls.lock().unwrap().push(Call {
            notification_id: message.notification_id.to_owned(),
            recipient: message.recipient.to_owned(),
        });
        let next = self.script.lock().unwrap().pop_front();
        async move { next.expect("the fake transport was sent more than scripted") }.boxed()
    }
}
