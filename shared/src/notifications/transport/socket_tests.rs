//! The retry rule against real sockets: a local TCP server plays SES (or the Cloud API) and
//! counts how many times the request arrived.

use super::ses_email::send_email;
use super::whatsapp_cloud::{send_whatsapp, WhatsappCredentials};
use super::*;
use crate::state::Endpoints;
use crate::templates::RenderedEmail;
use crate::{AppState, Clock, Config};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn state(ses: &str, whatsapp: &str) -> AppState {
    let sdk = aws_config::SdkConfig::builder()
        .region(aws_config::Region::new("us-east-1"))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .credentials_provider(aws_sdk_sesv2::config::SharedCredentialsProvider::new(
            aws_sdk_sesv2::config::Credentials::new("k", "s", None, None, "test"),
        ))
        .build();
    let env = |name: &str| match name {
        "WHATSAPP_API_BASE_URL" => Some(whatsapp.to_owned()),
        "SES_CONFIGURATION_SET" => Some(String::new()),
        "LOG_LEVEL"
        | "HEALTH_TIMEOUT_MS"
        | "OUTBOUND_ALLOW_CIDRS"
        | "OUTBOUND_ALLOW_HTTP"
        | "SES_MAX_SEND_RATE" => None,
        other => Some(format!("value-of-{other}")),
    };
    let config = Config::from_lookup(env).unwrap();
    let endpoints = Endpoints {
        ses: Some(ses.to_owned()),
        ..Default::default()
    };
    AppState::new(config, &sdk, &endpoints, Clock::system())
}

/// How the fake provider treats each request after reading it whole.
#[derive(Clone, Copy)]
enum Answer {
    /// Closes the connection without a word (the request was written and read).
    Reset,
    /// Answers with this raw HTTP response.
    Raw(&'static str),
}

/// Serves on a free port; returns its URL and the number of requests read.
async fn provider(answer: Answer) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head, then the body its Content-Length announces.
                loop {
                    let n = socket.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(head_end) = text.find("\r\n\r\n") {
                        let length = text[..head_end]
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if buf.len() >= head_end + 4 + length {
                            break;
                        }
                    }
                }
                seen.fetch_add(1, Ordering::SeqCst);
                match answer {
                    Answer::Reset => drop(socket),
                    Answer::Raw(response) => {
                        let _ = socket.write_all(response.as_bytes()).await;
                        let _ = socket.shutdown().await;
                    }
                }
            });
        }
    });
    (url, count)
}

fn email() -> RenderedEmail {
    RenderedEmail {
        subject: "Hola".into(),
        html: None,
        text: Some("cuerpo".into()),
    }
}

async fn ses_send(answer: Answer) -> (Outcome, usize) {
    let (url, count) = provider(answer).await;
    let state = state(&url, "http://127.0.0.1:9");
    let outcome = send_email(&state, "a@shop.test", "b@example.com", &email(), "p", "n").await;
    (outcome, count.load(Ordering::SeqCst))
}

fn response(status: &str, headers: &str, body: &str) -> &'static str {
    let text = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    Box::leak(text.into_boxed_str())
}

#[tokio::test]
async fn ses_reset_after_the_request_is_unknown_and_never_resent() {
    let (outcome, requests) = ses_send(Answer::Reset).await;
    assert!(matches!(outcome, Outcome::Unknown(_)), "{outcome:?}");
    assert_eq!(
        requests, 1,
        "the SDK resent an e-mail SES may have accepted"
    );
}

#[tokio::test]
async fn ses_throttling_is_throttled_and_not_retried_by_the_sdk() {
    let body = r#"{"message":"Maximum sending rate exceeded."}"#;
    let answer = response(
        "429 Too Many Requests",
        "x-amzn-errortype: TooManyRequestsException\r\n",
        body,
    );
    let (outcome, requests) = ses_send(Answer::Raw(answer)).await;
    assert!(matches!(outcome, Outcome::Throttled(_)), "{outcome:?}");
    assert_eq!(requests, 1);
}

#[tokio::test]
async fn ses_5xx_is_unknown_and_4xx_is_permanent() {
    let answer = response(
        "500 Internal Server Error",
        "x-amzn-errortype: InternalFailure\r\n",
        r#"{"message":"oops"}"#,
    );
    let (outcome, requests) = ses_send(Answer::Raw(answer)).await;
    assert!(matches!(outcome, Outcome::Unknown(_)), "{outcome:?}");
    assert_eq!(requests, 1);
    let answer = response(
        "400 Bad Request",
        "x-amzn-errortype: MessageRejected\r\n",
        r#"{"message":"Email address is not verified."}"#,
    );
    let (outcome, _) = ses_send(Answer::Raw(answer)).await;
    assert!(matches!(outcome, Outcome::Permanent(_)), "{outcome:?}");
}

#[tokio::test]
async fn ses_connection_refused_may_be_retried() {
    // Bind and drop: nothing listens on the port any more.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let state = state(&format!("http://127.0.0.1:{port}"), "http://127.0.0.1:9");
    let outcome = send_email(&state, "a@shop.test", "b@example.com", &email(), "p", "n").await;
    assert!(matches!(outcome, Outcome::Transient(_)), "{outcome:?}");
}

fn whatsapp_creds() -> WhatsappCredentials {
    WhatsappCredentials {
        access_token: "t".into(),
        phone_number_id: "123".into(),
        api_version: "v21.0".into(),
    }
}

#[tokio::test]
async fn whatsapp_reset_and_5xx_are_unknown_refused_is_transient() {
    let body = json!({"messaging_product": "whatsapp", "to": "5491100000000"});
    let (url, count) = provider(Answer::Reset).await;
    let outcome = send_whatsapp(&state("http://127.0.0.1:9", &url), &whatsapp_creds(), &body).await;
    assert!(matches!(outcome, Outcome::Unknown(_)), "{outcome:?}");
    assert_eq!(count.load(Ordering::SeqCst), 1);

    let answer = response(
        "500 Internal Server Error",
        "",
        r#"{"error":{"code":131000}}"#,
    );
    let (url, _) = provider(Answer::Raw(answer)).await;
    let outcome = send_whatsapp(&state("http://127.0.0.1:9", &url), &whatsapp_creds(), &body).await;
    assert!(matches!(outcome, Outcome::Unknown(_)), "{outcome:?}");

    let outcome = send_whatsapp(
        &state("http://127.0.0.1:9", "http://127.0.0.1:9"),
        &whatsapp_creds(),
        &body,
    )
    .await;
    assert!(matches!(outcome, Outcome::Transient(_)), "{outcome:?}");
}
