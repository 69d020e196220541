//! One signed HTTP attempt to a shop's endpoint, through the SSRF guard.

use super::schedule::Outcome;
use super::signing::{self, WebhookSecret};
use super::ssrf::{self, Policy};
use crate::Config;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Instant;
use time::OffsetDateTime;

/// Response bytes kept in the attempt log.
pub const MAX_LOGGED_BODY: usize = 2048;

/// What one attempt came to, ready for the attempt log.
#[derive(Debug, Clone)]
pub struct SendResult {
    pub outcome: Outcome,
    pub status_code: Option<u16>,
    pub duration_ms: u64,
    pub response_body: Option<String>,
    /// `http_status`, `timeout`, `network`, `ssrf_refused`, `invalid_url`; `None` on success.
    pub error_class: Option<&'static str>,
    pub error: Option<String>,
    /// The request headers sent, signature redacted (see `signing::redacted_signature`);
    /// `None` when nothing was sent.
    pub request_headers: Option<std::collections::BTreeMap<String, String>>,
}

/// The outbound policy the operator configured.
pub fn policy(config: &Config) -> Policy {
    Policy {
        allow_http: config.outbound_allow_http,
        allow: config.outbound_allow.clone(),
    }
}

/// A guarded client for `policy`, built once per policy per process.
pub fn client_for(policy: &Policy) -> Result<reqwest::Client, ssrf::SsrfError> {
    static CLIENTS: OnceLock<Mutex<Vec<(Policy, reqwest::Client)>>> = OnceLock::new();
    let cache = CLIENTS.get_or_init(|| Mutex::new(Vec::new()));
    let mut cache = cache.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, c)) = cache.iter().find(|(p, _)| p == policy) {
        return Ok(c.clone());
    }
    let client = ssrf::client(policy)?;
    cache.push((policy.clone(), client.clone()));
    Ok(client)
}

fn refused(error: String, class: &'static str) -> SendResult {
    SendResult {
        outcome: Outcome::Network,
        status_code: None,
        duration_ms: 0,
        response_body: None,
        error_class: Some(class),
        error: Some(error),
        request_headers: None,
    }
}

/// Signs (with every secret in `secrets`, a fresh timestamp from `now`) and POSTs `body`.
pub async fn attempt(
    client: &reqwest::Client,
    policy: &Policy,
    url: &str,
    msg_id: &str,
    body: &[u8],
    secrets: &[WebhookSecret],
    now: OffsetDateTime,
) -> SendResult {
    let parsed = match url::Url::parse(url) {
        Ok(u) => u,
        Err(e) => return refused(e.to_string(), "invalid_url"),
    };
    if let Err(e) = ssrf::check_url(&parsed, policy) {
        return refused(e.to_string(), "ssrf_refused");
    }
    let refs: Vec<&WebhookSecret> = secrets.iter().collect();
    let mut request = client
        .post(parsed)
        .header("content-type", "application/json")
        .body(body.to_vec());
    let mut shown = std::collections::BTreeMap::new();
    for (name, value) in signing::headers(msg_id, now.unix_timestamp(), body, &refs) {
        if name != signing::HEADER_SIGNATURE {
            shown.insert(name.to_owned(), value.clone());
        }
        request = request.header(name, value);
    }
    shown.insert(
        signing::HEADER_SIGNATURE.to_owned(),
        signing::redacted_signature(&refs),
    );
    shown.insert("content-type".to_owned(), "application/json".to_owned());
    shown.insert("user-agent".to_owned(), ssrf::USER_AGENT.to_owned());
    let request_headers = Some(shown);
    let started = Instant::now();
    let elapsed = |s: Instant| u64::try_from(s.elapsed().as_millis()).unwrap_or(u64::MAX);
    match request.send().await {
        Ok(mut response) => {
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let mut kept = Vec::new();
            while kept.len() < MAX_LOGGED_BODY {
                match response.chunk().await {
                    Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
                    _ => break,
                }
            }
            kept.truncate(MAX_LOGGED_BODY);
            let outcome = Outcome::from_status(status, retry_after.as_deref(), now);
            SendResult {
                outcome,
                status_code: Some(status),
                duration_ms: elapsed(started),
                response_body: Some(String::from_utf8_lossy(&kept).into_owned()),
                error_class: (!outcome.is_success()).then_some("http_status"),
                error: None,
                request_headers,
            }
        }
        Err(e) => {
            let (class, outcome) = if ssrf::refusal(&e).is_some() {
                ("ssrf_refused", Outcome::Network)
            } else if e.is_timeout() {
                ("timeout", Outcome::Timeout)
            } else {
                ("network", Outcome::from_error(&e))
            };
            let message = ssrf::refusal(&e)
                .map(|r| r.to_string())
                .unwrap_or_else(|| crate::telemetry::error_chain(&e));
            SendResult {
                outcome,
                status_code: None,
                duration_ms: elapsed(started),
                response_body: None,
                error_class: Some(class),
                error: Some(message),
                request_headers,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn production_policy_refuses_private_targets_as_ssrf() {
        let policy = Policy::production();
        let client = client_for(&policy).unwrap();
        let secret = WebhookSecret::generate();
        for url in [
            "https://169.254.169.254/latest/meta-data/",
            "https://10.0.0.1/hook",
            "https://[::1]/hook",
            "https://localhost/hook",
        ] {
            let r = attempt(
                &client,
                &policy,
                url,
                "evt_x",
                b"{}",
                std::slice::from_ref(&secret),
                OffsetDateTime::now_utc(),
            )
            .await;
            assert_eq!(r.error_class, Some("ssrf_refused"), "{url}: {r:?}");
            assert_eq!(r.status_code, None);
        }
        let r = attempt(
            &client,
            &policy,
            "http://example.com/",
            "evt_x",
            b"{}",
            &[secret],
            OffsetDateTime::now_utc(),
        )
        .await;
        assert_eq!(r.error_class, Some("ssrf_refused"));
    }
}
