//! How a rendered notification leaves the stack: one [`Transport`] per channel, each in its own
//! module ([`ses_email`]: SES v2 `Content.Simple`; [`whatsapp_cloud`]: the WhatsApp Cloud API),
//! chosen in one place ([`for_channel`]). Each send ends in an [`Outcome`] that says whether the
//! message was accepted, may be retried, or must not be; what the sender does with it is
//! decided in `sender::decision`, so that logic is unit-tested against an in-memory fake
//! (`fake`, tests only) while the real transports are tested against sockets and the emulators.

use futures::future::BoxFuture;

use super::model::Channel;
use crate::templates::Rendered;
use crate::tenancy::Project;
use crate::AppState;

pub mod ses_email;
pub mod whatsapp_cloud;

/// One notification, rendered, ready to leave.
pub struct Outgoing<'a> {
    /// The sending project: its e-mail sender address, and the owner of its provider
    /// credentials (a transport loads the ones it needs).
    pub project: &'a Project,
    /// The notification id: tags the message so provider feedback finds it again.
    pub notification_id: &'a str,
    /// As stored on the notification (an e-mail address or a phone number).
    pub recipient: &'a str,
    pub rendered: &'a Rendered,
}

/// Sends one message through one channel's provider, once: no retries inside (see
/// [`Outcome`] for why). A content of another channel's shape is
/// `Permanent("template_channel_mismatch")`.
pub trait Transport: Send + Sync {
    fn send<'a>(&'a self, message: &'a Outgoing<'a>) -> BoxFuture<'a, Outcome>;
}

/// The transport of a channel: the one place a channel is tied to its provider.
pub fn for_channel(state: &AppState, channel: Channel) -> Box<dyn Transport + '_> {
    match channel {
        Channel::Email => Box::new(ses_email::SesEmail { state }),
        Channel::Whatsapp => Box::new(whatsapp_cloud::WhatsappCloud { state }),
    }
}

/// What one provider call achieved.
///
/// # Retry rule (never twice)
/// Neither SES nor the Cloud API deduplicates a resent message, so a request is retried only
/// when it provably did not reach the provider (connect phase: DNS, connection refused, TLS,
/// connect timeout) or when the provider answered that it did not take it because of a rate
/// limit. Anything after the request was written (read timeout, reset mid-response, a 5xx
/// answer, an unreadable answer) is [`Outcome::Unknown`] and is never sent again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted, with the provider's message id.
    Accepted(String),
    /// The request never reached the provider (connect phase); it may be tried again.
    Transient(String),
    /// The provider answered "too many requests": not taken, try later (does not count as a
    /// failed receive, see `sender`).
    Throttled(String),
    /// Not accepted and never will be as is (rejected, bad recipient, bad credentials).
    Permanent(String),
    /// The request may or may not have been acted on (after it was written): resending could
    /// duplicate the message, so it is not retried.
    Unknown(String),
}

/// Whether `err` (or one of its sources) is a failure to establish the connection, i.e. the
/// request was never written. The SDK's `ConnectorError` kinds (`is_io`, `is_timeout`, …) do
/// not say which phase failed (a reset while reading the answer is `io` too), but the HTTP
/// client's own error does: hyper-util marks connect-phase failures (DNS, refused, TLS
/// handshake, connect timeout) with `is_connect`.
pub fn never_sent(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(h) = e.downcast_ref::<hyper_util::client::legacy::Error>() {
            if h.is_connect() {
                return true;
            }
        }
        if let Some(r) = e.downcast_ref::<reqwest::Error>() {
            if r.is_connect() {
                return true;
            }
        }
        current = e.source();
    }
    false
}

#[cfg(test)]
pub(crate) mod fake;

#[cfg(test)]
mod socket_tests;
