//! The notification as stored and as the API shows it, its status lifecycle, and the queue
//! message that points the sender at it.

use serde::{Deserialize, Serialize};

use crate::ids::{NotificationId, ProjectId};

/// Delivery channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Whatsapp,
}

impl Channel {
    pub fn name(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Whatsapp => "whatsapp",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Email, Self::Whatsapp]
            .into_iter()
            .find(|c| c.name() == s)
    }
}

/// WhatsApp delivery mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = NotificationMode)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// A `https://wa.me/…` click-to-chat link, answered at once; nothing is sent by us.
    Link,
    /// Sent through the WhatsApp Cloud API with the project's credentials.
    Cloud,
}

/// Lifecycle: `pending → sending → sent → delivered → read`, or a terminal `failed`,
/// `bounced`, `complained`. Provider feedback arrives out of order; a status only replaces
/// one of lower [`rank`](Self::rank), so a late `delivered` never undoes `read`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(
    as = NotificationStatus,
    description = "Lifecycle: `pending → sending → sent → delivered → read`, or a terminal \
        `failed`, `bounced`, `complained`. Provider feedback arrives out of order; a later \
        status never goes back (a late `delivered` never undoes `read`)."
)]
pub enum Status {
    Pending,
    Sending,
    Sent,
    Delivered,
    Read,
    Failed,
    Bounced,
    Complained,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Self::Pending,
        Self::Sending,
        Self::Sent,
        Self::Delivered,
        Self::Read,
        Self::Failed,
        Self::Bounced,
        Self::Complained,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Failed => "failed",
            Self::Bounced => "bounced",
            Self::Complained => "complained",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == s)
    }

    /// Order of precedence for feedback. `pending`/`sending` move only through the sender's
    /// claim (see `store`); a complaint can follow a delivery, so it outranks everything.
    pub fn rank(self) -> u8 {
        match self {
            Self::Pending => 0,
            Self::Sending => 1,
            Self::Sent => 2,
            Self::Delivered => 3,
            Self::Read => 4,
            Self::Failed | Self::Bounced => 5,
            Self::Complained => 6,
        }
    }
}

/// One step of a notification's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = NotificationHistoryEntry)]
pub struct HistoryEntry {
    pub status: Status,
    /// When it happened (the provider's timestamp for feedback), RFC 3339.
    #[schema(format = DateTime)]
    pub at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub reason: Option<String>,
}

/// Which template version a notification renders (pinned when it is accepted).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TemplateRef {
    pub name: String,
    pub version: u32,
}

/// A notification as stored (item 8 of the data model) and returned by the API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub id: NotificationId,
    pub project_id: ProjectId,
    pub channel: Channel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// Normalised e-mail address or E.164 phone number (personal data: never logged).
    pub recipient: String,
    pub template: TemplateRef,
    /// The variables as a JSON text (kept as text: DynamoDB limits map nesting to 32 levels).
    pub variables_json: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_json: Option<String>,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_message_id: Option<String>,
    /// The click-to-chat URL of `link` mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(default)]
    pub attempts: u32,
    pub history: Vec<HistoryEntry>,
    pub created_at: String,
    pub updated_at: String,
    /// The item's TTL (epoch seconds), read from storage (`store::create` writes it from the
    /// plan's retention); the provider-message item copies it. Never part of the API view.
    #[serde(default, skip_serializing)]
    pub expires_at: Option<i64>,
}

impl Notification {
    /// The API representation.
    pub fn view(&self) -> NotificationView<'_> {
        let parse = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap_or_default();
        NotificationView {
            id: &self.id,
            channel: self.channel,
            mode: self.mode,
            recipient: &self.recipient,
            template: &self.template,
            variables: parse(&self.variables_json),
            metadata: self.metadata_json.as_deref().map(parse),
            status: self.status,
            reason: self.reason.as_deref(),
            provider_message_id: self.provider_message_id.as_deref(),
            link: self.link.as_deref(),
            attempts: self.attempts,
            history: &self.history,
            created_at: &self.created_at,
            updated_at: &self.updated_at,
        }
    }
}

/// A notification as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Notification)]
pub struct NotificationView<'a> {
    pub id: &'a NotificationId,
    pub channel: Channel,
    pub mode: Option<Mode>,
    pub recipient: &'a str,
    pub template: &'a TemplateRef,
    #[schema(value_type = Object)]
    pub variables: serde_json::Value,
    /// Yours, as you sent it
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
    pub status: Status,
    pub reason: Option<&'a str>,
    pub provider_message_id: Option<&'a str>,
    /// wa.me click-to-chat link (mode link)
    pub link: Option<&'a str>,
    pub attempts: u32,
    pub history: &'a [HistoryEntry],
    #[schema(format = DateTime)]
    pub created_at: &'a str,
    #[schema(format = DateTime)]
    pub updated_at: &'a str,
}

/// A page of notifications.
#[derive(Serialize, utoipa::ToSchema)]
pub struct NotificationList<'a> {
    pub data: Vec<NotificationView<'a>>,
    pub next_cursor: Option<String>,
}

/// The NotificationsQueue message body. Versioned so a deploy can change the shape safely.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueMessage {
    pub v: u8,
    pub project_id: ProjectId,
    pub notification_id: NotificationId,
    /// How many times this notification was put back because of throttling (our account-wide
    /// send rate or the provider's "too many requests"). Throttling re-enqueues a fresh copy
    /// instead of failing the receive, so it never uses up the queue's `maxReceiveCount`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub throttles: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_never_let_feedback_regress() {
        assert!(Status::Read.rank() > Status::Delivered.rank());
        assert!(Status::Delivered.rank() > Status::Sent.rank());
        assert!(Status::Failed.rank() > Status::Read.rank());
        assert!(Status::Complained.rank() > Status::Bounced.rank());
        for s in Status::ALL {
            assert_eq!(Status::parse(s.name()), Some(s));
        }
    }
}
