//! The Graph surface: `POST /<version>/<phone-number-id>/messages`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Request, State as Extract};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine as _;
use rand::Rng as _;
use serde_json::json;

use super::errors::GraphError;
use super::request::{self, Kind, Outgoing};
use super::statuses::{self, Fate, Target};
use super::{SentMessage, State};

pub(super) fn router() -> Router<Arc<State>> {
    Router::new()
        .route("/{version}/{phone_number_id}/messages", post(send))
        .fallback(unknown)
}

async fn send(
    Extract(state): Extract<Arc<State>>,
    Path((version, phone_number_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let call = Call {
        version,
        phone_number_id,
    };
    match accept(&state, &call, &headers, &body) {
        Ok((response, target, fate, generation, after)) => {
            tokio::spawn(statuses::schedule(
                Arc::clone(&state),
                generation,
                target,
                fate,
            ));
            match after {
                After::Answer => Json(response).into_response(),
                After::Fail => GraphError::whatsapp(131000).into_response(),
                After::Hang => {
                    // Longer than any sender's request timeout: the caller gives up.
                    tokio::time::sleep(std::time::Duration::from_secs(HANG_SECS)).await;
                    Json(response).into_response()
                }
            }
        }
        Err(error) => error.into_response(),
    }
}

/// How long the `0408` test number's first answer takes.
const HANG_SECS: u64 = 30;

/// What happens after a message was accepted (recorded, wamid issued, statuses scheduled).
enum After {
    /// The normal 200 answer.
    Answer,
    /// `0500`, first attempt: HTTP 500 / 131000 although the message went out.
    Fail,
    /// `0408`, first attempt: no answer for [`HANG_SECS`].
    Hang,
}

struct Call {
    version: String,
    phone_number_id: String,
}

type Accepted = (serde_json::Value, Target, Fate, u64, After);

fn accept(
    state: &State,
    call: &Call,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Accepted, GraphError> {
    if !is_version(&call.version) {
        return Err(GraphError::unknown_path(&call.version));
    }
    if call.phone_number_id.is_empty() || !call.phone_number_id.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(GraphError::unsupported_post(&call.phone_number_id));
    }
    let token = bearer(headers).ok_or_else(GraphError::invalid_token)?;
    let mut inner = state.lock();
    if inner
        .config
        .access_token
        .as_deref()
        .is_some_and(|t| t != token)
    {
        return Err(GraphError::invalid_token());
    }
    let outgoing = request::parse(body)?;
    let attempt = {
        let n = inner.attempts.entry(outgoing.wa_id.clone()).or_insert(0);
        *n += 1;
        *n
    };
    let decision = decide(&inner.config.templates, &outgoing, attempt);
    let outgoing_suffix: String = {
        let id = &outgoing.wa_id;
        id[id.len().saturating_sub(4)..].to_owned()
    };
    inner.next_seq += 1;
    let mut record = SentMessage {
        seq: inner.next_seq,
        received_at: crate::receiver::now_rfc3339(),
        api_version: call.version.clone(),
        phone_number_id: call.phone_number_id.clone(),
        token_last4: last4(token),
        to: outgoing.to.clone(),
        wa_id: outgoing.wa_id.clone(),
        message_type: outgoing.kind.type_name().to_owned(),
        text_body: None,
        template: None,
        biz_opaque_callback_data: outgoing.biz_opaque.clone(),
        wamid: None,
        error_code: None,
        statuses: Vec::new(),
    };
    match &outgoing.kind {
        Kind::Text { body } => record.text_body = Some(body.clone()),
        Kind::Template { raw, .. } => record.template = Some(raw.clone()),
    }
    let fate = match decision {
        Ok(fate) => fate,
        Err(error) => {
            record.error_code = Some(error.code);
            inner.messages.push(record);
            return Err(error);
        }
    };
    let wamid = wamid(&outgoing.wa_id);
    record.wamid = Some(wamid.clone());
    inner.messages.push(record);
    let mut message = json!({ "id": wamid });
    if matches!(outgoing.kind, Kind::Template { .. }) {
        message["message_status"] = json!("accepted");
    }
    let response = json!({
        "messaging_product": "whatsapp",
        "contacts": [{ "input": outgoing.to, "wa_id": outgoing.wa_id }],
        "messages": [message],
    });
    let target = Target {
        wamid,
        recipient_id: outgoing.wa_id,
        phone_number_id: call.phone_number_id.clone(),
        biz_opaque: outgoing.biz_opaque,
        category: if matches!(outgoing.kind, Kind::Template { .. }) {
            "utility"
        } else {
            "service"
        },
    };
    let after = match (outgoing_suffix.as_str(), attempt) {
        ("0500", 1) => After::Fail,
        ("0408", 1) => After::Hang,
        _ => After::Answer,
    };
    Ok((response, target, fate, inner.generation, after))
}

/// Applies the test-number conventions (see the module doc) and the template registry.
fn decide(
    templates: &std::collections::BTreeMap<String, usize>,
    outgoing: &Outgoing,
    attempt: u32,
) -> Result<Fate, GraphError> {
    let ends = |suffix: &str| outgoing.wa_id.ends_with(suffix);
    if ends("0190") {
        return Err(GraphError::expired_token());
    }
    if ends("0429") && attempt <= 2 {
        return Err(GraphError::whatsapp(130429));
    }
    if ends("1056") && attempt == 1 {
        return Err(GraphError::whatsapp(131056));
    }
    if ends("1000") && attempt == 1 {
        return Err(GraphError::whatsapp(131000));
    }
    let is_template = if let Kind::Template {
        name, body_params, ..
    } = &outgoing.kind
    {
        if !templates.is_empty() {
            match templates.get(name) {
                None => return Err(GraphError::whatsapp(132001)),
                Some(expected) if expected != body_params => {
                    return Err(GraphError::whatsapp(132000))
                }
                Some(_) => {}
            }
        }
        true
    } else {
        false
    };
    if ends("1047") && !is_template {
        return Ok(Fate::Fail(131047));
    }
    if ends("1026") {
        return Ok(Fate::Fail(131026));
    }
    Ok(Fate::Deliver)
}

/// `v<major>.<minor>`, e.g. `v21.0`.
fn is_version(segment: &str) -> bool {
    let Some((major, minor)) = segment.strip_prefix('v').and_then(|v| v.split_once('.')) else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(major) && digits(minor)
}

/// The token of `Authorization: Bearer <token>` (Graph also takes the `OAuth` scheme).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    let known = scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth");
    (known && !token.is_empty()).then_some(token)
}

fn last4(token: &str) -> String {
    let chars: Vec<char> = token.chars().collect();
    chars[chars.len().saturating_sub(4)..].iter().collect()
}

/// A message id shaped like Meta's: `wamid.` + base64 of a small protobuf-like blob.
fn wamid(wa_id: &str) -> String {
    let mut blob = vec![0x1c, 0x18, u8::try_from(wa_id.len()).unwrap_or(15)];
    blob.extend_from_slice(wa_id.as_bytes());
    blob.extend_from_slice(&[0x15, 0x02, 0x00, 0x11, 0x18, 0x12]);
    let random: u128 = rand::thread_rng().gen();
    blob.extend_from_slice(format!("{:018X}", random & ((1 << 72) - 1)).as_bytes());
    blob.push(0x00);
    format!(
        "wamid.{}",
        base64::engine::general_purpose::STANDARD.encode(blob)
    )
}

/// Graph's answer to any other path.
async fn unknown(request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let id = path
        .trim_start_matches('/')
        .split('/')
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    GraphError::unsupported_post(&id).into_response()
}
