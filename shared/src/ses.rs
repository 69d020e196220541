//! The stack's own Amazon SES account: how one e-mail becomes a `SendEmail` request. Shared by
//! the notifications sender (shops' e-mails, sent at most once:
//! `notifications::transport::ses_email`) and operator alerts (`webhooks::alert`); neither
//! knows the other.

use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message, MessageTag};

use crate::templates::RenderedEmail;
use crate::AppState;

/// A `SendEmail` request for one recipient: simple content (HTML and/or text), the given
/// message tags and the stack's configuration set (so SES publishes its events). `None` when
/// the subject is empty.
pub fn request(
    state: &AppState,
    from: &str,
    to: &str,
    email: &RenderedEmail,
    tags: &[(&str, &str)],
) -> Option<aws_sdk_sesv2::operation::send_email::builders::SendEmailFluentBuilder> {
    let text = |data: &str| Content::builder().data(data).charset("UTF-8").build();
    let subject = text(&email.subject).ok()?;
    let mut body = Body::builder();
    if let Some(Ok(html)) = email.html.as_deref().map(text) {
        body = body.html(html);
    }
    if let Some(Ok(plain)) = email.text.as_deref().map(text) {
        body = body.text(plain);
    }
    let message = Message::builder()
        .subject(subject)
        .body(body.build())
        .build();
    let tags = tags
        .iter()
        .filter_map(|(n, v)| MessageTag::builder().name(*n).value(*v).build().ok());
    let request = state
        .ses
        .send_email()
        .from_email_address(from)
        .destination(Destination::builder().to_addresses(to).build())
        .content(EmailContent::builder().simple(message).build())
        .set_email_tags(Some(tags.collect()));
    Some(match &state.config.ses_configuration_set {
        Some(set) => request.configuration_set_name(set),
        None => request,
    })
}
