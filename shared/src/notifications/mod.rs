//! Notifications: versioned templates per project, e-mail (SES v2) and WhatsApp (click-to-chat
//! links and the Cloud API), asynchronous sending, provider feedback and a queryable log.
//!
//! - [`routes`]: the `notifications` function (`/v1/templates*`, `/v1/notifications*`);
//! - [`sender`]: the `sender` function (NotificationsQueue consumer; its docs state the
//!   at-most-once guarantee);
//! - [`transport`]: one module per channel's provider behind the `Transport` trait;
//! - [`feedback`]: the `provider-feedback` function (WhatsApp status webhooks);
//! - [`ses_events`]: the `email-feedback` function (SES bounce / complaint / delivery events);
//! - [`store`] (with the log's listing, `store::list`), [`template_store`]: data model items 6–9.

pub mod feedback;
pub mod model;
pub mod notification_routes;
pub mod routes;
pub mod send_rate;
pub mod sender;
pub mod ses_events;
pub mod store;
pub mod template_routes;
pub mod template_store;
pub mod transport;

use crate::AppState;
use model::Notification;

/// Emits `notification.failed` once per notification (the notification id is the dedupe key).
/// A failure to emit is logged: the notification's own state is already terminal and visible.
pub(crate) async fn emit_failed(state: &AppState, notification: &Notification) {
    let project = match crate::tenancy::project::get(state, &notification.project_id).await {
        Ok(Some(p)) => p,
        _ => {
            tracing::warn!(notification_id = %notification.id, "notification.failed not emitted: project unavailable");
            return;
        }
    };
    let data = serde_json::json!({
        "notification_id": notification.id,
        "channel": notification.channel,
        "template": notification.template,
        "status": notification.status,
        "reason": notification.reason,
        "metadata": notification
            .metadata_json
            .as_deref()
            .and_then(|m| serde_json::from_str::<serde_json::Value>(m).ok()),
    });
    let key = format!("notification.failed:{}", notification.id);
    if let Err(e) =
        crate::webhooks::emit(state, &project, "notification.failed", data, Some(&key)).await
    {
        tracing::warn!(notification_id = %notification.id, error = %crate::telemetry::error_chain(&e), "notification.failed not emitted");
    }
}
