//! Telling a shop that one of its webhook endpoints was disabled.
//!
//! The `endpoint.disabled` event reaches the project's other endpoints, but a shop whose only
//! endpoint just died would hear nothing; so when the project has a `contact_email` and the
//! stack an `ALERT_EMAIL_FROM` sender, the dispatcher also sends one plain-text e-mail. The
//! disable is a conditional transition, so this runs once per disable; a failed send is logged
//! (without the address) and not retried: the endpoint's state stays visible in the API.

use super::endpoint_store::Endpoint;
use crate::tenancy::project::Project;
use crate::AppState;

/// The endpoint URL without query or fragment (they may carry the shop's own tokens).
pub fn display_url(url: &str) -> &str {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    &url[..end]
}

/// Subject and text of the e-mail.
pub fn compose(project: &Project, endpoint: &Endpoint, reason: &str) -> (String, String) {
    let why = match reason {
        "gone" => "it answered 410 Gone, which asks us to stop sending",
        _ => "every delivery attempt has failed for five days",
    };
    let subject = format!("Mostrador: webhook endpoint {} was disabled", endpoint.id);
    let text = format!(
        "Hello,\n\n\
         Mostrador disabled the webhook endpoint {id} of the project \"{name}\" ({project_id}) \
         because {why}.\n\n\
         URL: {url}\n\n\
         Events are still stored. Once the endpoint works again, re-enable it \
         (PATCH /v1/webhook-endpoints/{id} with {{\"enabled\": true}}) and replay what it \
         missed (POST /v1/webhook-endpoints/{id}/recover).\n",
        id = endpoint.id,
        name = project.name,
        project_id = project.id,
        url = display_url(&endpoint.url),
    );
    (subject, text)
}

/// Sends the e-mail if the project and the stack are set up for it.
pub async fn endpoint_disabled(
    state: &AppState,
    project: &Project,
    endpoint: &Endpoint,
    reason: &str,
) {
    let (Some(to), Some(from)) = (&project.contact_email, &state.config.alert_email_from) else {
        return;
    };
    let (subject, text) = compose(project, endpoint, reason);
    let email = crate::templates::RenderedEmail {
        subject,
        html: None,
        text: Some(text),
    };
    let project_id = project.id.to_string();
    let tags = [
        ("project_id", project_id.as_str()),
        ("kind", "endpoint_disabled"),
    ];
    let Some(request) = crate::ses::request(state, from, to, &email, &tags) else {
        return;
    };
    match request.send().await {
        Ok(_) => {
            tracing::info!(project_id = %project.id, endpoint_id = %endpoint.id, "endpoint-disabled e-mail sent")
        }
        Err(e) => tracing::warn!(
            project_id = %project.id,
            endpoint_id = %endpoint.id,
            error = %crate::telemetry::error_chain(&e),
            "endpoint-disabled e-mail not sent"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_query_and_fragment() {
        assert_eq!(
            display_url("https://shop.example/hooks?token=s3cret#x"),
            "https://shop.example/hooks"
        );
        assert_eq!(
            display_url("https://shop.example/h"),
            "https://shop.example/h"
        );
    }
}
