//! Mercado Pago webhook signatures (`x-signature: ts=<ts>,v1=<hex>`).
//!
//! The signed manifest is `id:<data.id>;request-id:<x-request-id>;ts:<ts>;`, each pair ending in
//! `;` and pairs without a value left out. `data.id` comes from the **query string**. Mercado
//! Pago's docs say it is lowercased when alphanumeric, while the official SDKs sign it verbatim
//! since June 2026 ("MercadoPago signs the notification using the original casing",
//! sdk-nodejs src/utils/webhook/index.ts); [`verify`] accepts either (numeric payment ids are
//! the same both ways).
//!
//! `ts` goes into the manifest verbatim. Mercado Pago sends Unix **seconds** (10 digits: the
//! docs' example `ts=1704908010`; every official SDK's validator reads it as seconds since the
//! August 2026 fix for sdk-nodejs issue #458); the docs' prose says milliseconds (13 digits), so
//! both are accepted, told apart by their length (see [`parse_ts`] and
//! docs/mercadopago-signatures.md).
//!
//! Legacy IPN requests carry an `x-signature` that cannot be validated: do not call [`verify`]
//! on them. Either way the payment is re-fetched with the shop's token before it is trusted.

use hmac::Mac;
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};

use super::InboundSecret;

/// Name of the signature header.
pub const HEADER_SIGNATURE: &str = "x-signature";
/// Name of the request id header (part of the manifest).
pub const HEADER_REQUEST_ID: &str = "x-request-id";
/// A sensible freshness window: Mercado Pago documents none, and re-signs every retry with a
/// new `ts`, so a stale rejection only costs one retry.
pub const DEFAULT_TOLERANCE: Duration = Duration::minutes(5);

/// Why a notification did not verify. Stable: intake logs and metrics key on these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `x-signature` header.
    #[error("x-signature header is missing")]
    MissingHeader,
    /// The header is not a comma-separated `key=value` list, repeats a key, or `v1` is not hex.
    #[error("x-signature header is malformed")]
    MalformedHeader,
    /// No `ts=` part.
    #[error("x-signature has no ts")]
    MissingTimestamp,
    /// No `v1=` part.
    #[error("x-signature has no v1")]
    MissingV1,
    /// `ts` is neither 10 digits (seconds) nor 13 digits (milliseconds).
    #[error("x-signature ts is not a Unix time in seconds or milliseconds")]
    InvalidTimestamp,
    /// The HMAC does not match.
    #[error("x-signature does not match")]
    Mismatch,
    /// Authentic, but `ts` is older than the tolerance.
    #[error("x-signature ts is too old")]
    TimestampTooOld,
    /// Authentic, but `ts` is further in the future than the tolerance.
    #[error("x-signature ts is in the future")]
    TimestampTooNew,
}

/// The parts of an `x-signature` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    /// `ts`, verbatim (it is signed as text).
    pub ts: String,
    /// `v1`, the HMAC as given (hex).
    pub v1: String,
}

/// Parses `ts=…,v1=…` in any order, with spaces around parts, keys and values. Unknown keys are
/// ignored so a future `v2` does not break intake; a repeated key is malformed.
pub fn parse_signature_header(value: &str) -> Result<SignatureHeader, SignatureError> {
    let mut ts = None;
    let mut v1 = None;
    for part in value.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (key, val) = part
            .split_once('=')
            .ok_or(SignatureError::MalformedHeader)?;
        let slot = match key.trim() {
            "ts" => &mut ts,
            "v1" => &mut v1,
            _ => continue,
        };
        if slot.replace(val.trim().to_owned()).is_some() {
            return Err(SignatureError::MalformedHeader);
        }
    }
    let ts = ts
        .filter(|t| !t.is_empty())
        .ok_or(SignatureError::MissingTimestamp)?;
    let v1 = v1
        .filter(|v| !v.is_empty())
        .ok_or(SignatureError::MissingV1)?;
    Ok(SignatureHeader { ts, v1 })
}

/// The signed manifest, `data.id` verbatim; absent (or empty) values drop their pair.
pub fn manifest(data_id: Option<&str>, request_id: Option<&str>, ts: Option<&str>) -> String {
    let mut out = String::new();
    let pairs = [("id", data_id), ("request-id", request_id), ("ts", ts)];
    for (key, value) in pairs {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            out.push_str(key);
            out.push(':');
            out.push_str(value);
            out.push(';');
        }
    }
    out
}

/// The `data.id` spellings a genuine signature may cover: verbatim (what Mercado Pago and its
/// SDKs sign), then lowercased when alphanumeric with capitals (the docs' rule).
fn data_id_spellings(data_id: Option<&str>) -> impl Iterator<Item = Option<String>> {
    let verbatim = data_id.map(str::to_owned);
    let lowered = data_id
        .filter(|id| {
            id.bytes().all(|b| b.is_ascii_alphanumeric())
                && id.bytes().any(|b| b.is_ascii_uppercase())
        })
        .map(|id| Some(id.to_ascii_lowercase()));
    std::iter::once(verbatim).chain(lowered)
}

/// Lowercase hex HMAC-SHA256 of `manifest` (what Mercado Pago puts in `v1`; the local sandbox
/// signs with it).
pub fn sign(secret: &InboundSecret, manifest: &str) -> String {
    let mut mac = secret.hmac();
    mac.update(manifest.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The `x-signature` header value Mercado Pago would send (for the local sandbox and tests).
pub fn signature_header(
    secret: &InboundSecret,
    data_id: Option<&str>,
    request_id: Option<&str>,
    ts: &str,
) -> String {
    let v1 = sign(secret, &manifest(data_id, request_id, Some(ts)));
    format!("ts={ts},v1={v1}")
}

/// Reads `ts` as Unix seconds (10 digits) or milliseconds (13 digits). The length decides, never
/// the value: from 2001-09-09 to 2286-11-20 seconds have exactly 10 digits and milliseconds
/// exactly 13, so one can never be mistaken for the other; any other length (11 or 12 digits,
/// microseconds, a signed or fractional number) is refused rather than guessed at.
pub fn parse_ts(ts: &str) -> Result<OffsetDateTime, SignatureError> {
    if !ts.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureError::InvalidTimestamp);
    }
    let n: i64 = ts.parse().map_err(|_| SignatureError::InvalidTimestamp)?;
    let at = match ts.len() {
        10 => OffsetDateTime::from_unix_timestamp(n),
        13 => OffsetDateTime::from_unix_timestamp_nanos(i128::from(n) * 1_000_000),
        _ => return Err(SignatureError::InvalidTimestamp),
    };
    at.map_err(|_| SignatureError::InvalidTimestamp)
}

/// What [`verify`] needs from one webhook request.
#[derive(Debug, Clone, Copy)]
pub struct Notification<'a> {
    /// `data.id` from the query string.
    pub data_id: Option<&'a str>,
    /// The `x-request-id` header.
    pub request_id: Option<&'a str>,
    /// The `x-signature` header.
    pub signature: Option<&'a str>,
}

/// Checks a webhook request: header shape, `ts` shape, HMAC (constant time), then freshness
/// within `tolerance` either way of `now`, whichever unit `ts` is in. Freshness comes last so a stale error means the
/// request was authentic but old.
pub fn verify(
    secret: &InboundSecret,
    notification: &Notification<'_>,
    now: OffsetDateTime,
    tolerance: Duration,
) -> Result<(), SignatureError> {
    let header = notification
        .signature
        .ok_or(SignatureError::MissingHeader)
        .and_then(parse_signature_header)?;
    let signed_at = parse_ts(&header.ts)?;
    let given = hex::decode(&header.v1).map_err(|_| SignatureError::MalformedHeader)?;
    let matches = data_id_spellings(notification.data_id).any(|data_id| {
        let manifest = manifest(
            data_id.as_deref(),
            notification.request_id,
            Some(&header.ts),
        );
        let mut mac = secret.hmac();
        mac.update(manifest.as_bytes());
        let expected = mac.finalize().into_bytes();
        bool::from(given.as_slice().ct_eq(expected.as_slice()))
    });
    if !matches {
        return Err(SignatureError::Mismatch);
    }
    // A window reaching past the representable range has no bound on that side.
    if now
        .checked_sub(tolerance)
        .is_some_and(|oldest| signed_at < oldest)
    {
        return Err(SignatureError::TimestampTooOld);
    }
    if now
        .checked_add(tolerance)
        .is_some_and(|newest| signed_at > newest)
    {
        return Err(SignatureError::TimestampTooNew);
    }
    Ok(())
}

#[cfg(test)]
#[path = "mercadopago_tests.rs"]
mod tests;
