//! Wire-level building blocks shared by every route: Mercado Pago's error body, bearer
//! authentication, amounts (integer cents inside, JSON numbers with decimals outside), dates in
//! Mercado Pago's `-04:00` format, and random ids.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rand::Rng;
use serde_json::{json, Value};
use time::{OffsetDateTime, UtcOffset};

/// An expected failure, rendered as Mercado Pago's error body
/// `{"message","error","status","cause":[{"code","description","data"}]}`.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub error: String,
    pub causes: Vec<(Value, String)>,
}

impl ApiError {
    pub fn new(status: StatusCode, error: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            error: error.to_owned(),
            causes: Vec::new(),
        }
    }

    /// Adds a `cause` entry whose description repeats the message.
    pub fn with_code(mut self, code: impl Into<Value>) -> Self {
        self.causes.push((code.into(), self.message.clone()));
        self
    }

    /// 401 code 5: no credentials at all.
    pub fn missing_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Must provide your access_token to proceed",
        )
        .with_code(5)
    }

    /// 401 code 2: credentials that do not look like a Mercado Pago access token.
    pub fn invalid_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "invalid access token",
        )
        .with_code(2)
    }

    /// 404 code 2000, also what another collector's payment looks like.
    pub fn payment_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "Payment not found").with_code(2000)
    }

    /// 400 code 4292: `X-Idempotency-Key` missing on a call that requires it.
    pub fn idempotency_key_missing() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Header X-Idempotency-Key can't be null",
        )
        .with_code(4292)
    }

    pub fn bad_request(code: impl Into<Value>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message).with_code(code)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn body(&self) -> Value {
        let cause: Vec<Value> = self
            .causes
            .iter()
            .map(|(code, description)| json!({"code": code, "description": description, "data": null}))
            .collect();
        json!({"message": self.message, "error": self.error, "status": self.status.as_u16(), "cause": cause})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

/// The seller a request acts for, read from its access token. Every lookup takes it first, so
/// one collector cannot read another's resources by accident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Collector {
    pub id: i64,
    /// `TEST-…` tokens are sandbox credentials (`live_mode: false`), `APP_USR-…` are not.
    pub live_mode: bool,
}

impl Collector {
    /// Parses `TEST-<client_id>-<MMddHH>-<hash>-<user_id>` or `APP_USR-…-<user_id>`.
    pub fn from_token(token: &str) -> Result<Self, ApiError> {
        let live_mode = if token.starts_with("APP_USR-") {
            true
        } else if token.starts_with("TEST-") {
            false
        } else {
            return Err(ApiError::invalid_token());
        };
        let last = token.rsplit('-').next().unwrap_or_default();
        if token.split('-').count() < 3
            || last.is_empty()
            || !last.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(ApiError::invalid_token());
        }
        let id = last.parse::<i64>().map_err(|_| ApiError::invalid_token())?;
        Ok(Self { id, live_mode })
    }

    /// Reads `Authorization: Bearer …`, falling back to the legacy `?access_token=` parameter.
    pub fn from_parts(headers: &HeaderMap, query: Option<&str>) -> Result<Self, ApiError> {
        let header = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if let Some(value) = header {
            let token = value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "));
            return match token.map(str::trim) {
                Some(t) if !t.is_empty() => Self::from_token(t),
                _ => Err(ApiError::missing_token()),
            };
        }
        let from_query = query.and_then(|q| query_param(q, "access_token"));
        match from_query {
            Some(t) if !t.is_empty() => Self::from_token(&t),
            _ => Err(ApiError::missing_token()),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Collector {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Self::from_parts(&parts.headers, parts.uri.query())
    }
}

/// The first value of `name` in a raw query string, percent-decoded.
pub fn query_param(query: &str, name: &str) -> Option<String> {
    let url = reqwest::Url::parse(&format!("http://x/?{query}")).ok()?;
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The trimmed `X-Idempotency-Key`, or `None` when absent or blank.
pub fn idempotency_key(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("x-idempotency-key")?.to_str().ok()?.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// Parses a JSON request body; an empty body is `{}` (the SDKs send none for total refunds).
pub fn parse_body(bytes: &[u8]) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|_| {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", "JSON parse error").with_code(1)
    })?;
    if value.is_null() {
        return Ok(json!({}));
    }
    if !value.is_object() {
        return Err(
            ApiError::new(StatusCode::BAD_REQUEST, "bad_request", "JSON parse error").with_code(1),
        );
    }
    Ok(value)
}

/// Reads an amount (JSON number or numeric string) as integer cents, rounding half up.
pub fn cents(value: &Value) -> Option<i64> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_owned(),
        _ => return None,
    };
    decimal_to_cents(&text)
}

fn decimal_to_cents(text: &str) -> Option<i64> {
    if text.contains(['e', 'E']) {
        let f: f64 = text.parse().ok()?;
        return f.is_finite().then(|| (f * 100.0).round() as i64);
    }
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    if !whole
        .bytes()
        .chain(frac.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut frac_digits = frac.bytes().map(|b| i64::from(b - b'0'));
    let tenths = frac_digits.next().unwrap_or(0);
    let hundredths = frac_digits.next().unwrap_or(0);
    let round_up = frac_digits.next().is_some_and(|d| d >= 5);
    let value = whole.checked_mul(100)? + tenths * 10 + hundredths + i64::from(round_up);
    Some(if negative { -value } else { value })
}

/// Renders cents as a JSON number with decimals (`123450` → `1234.5`).
pub fn amount(cents: i64) -> Value {
    json!(cents as f64 / 100.0)
}

/// Renders cents the way `additional_info.items[].unit_price` comes back: a string.
pub fn amount_string(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

const MP_DATE: &[time::format_description::FormatItem<'static>] = time::macros::format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3][offset_hour sign:mandatory]:[offset_minute]"
);

/// Mercado Pago's date format, in its home offset: `2022-07-31T17:04:28.717-04:00`.
pub fn mp_date(at: OffsetDateTime) -> String {
    let offset = UtcOffset::from_hms(-4, 0, 0).unwrap_or(UtcOffset::UTC);
    at.to_offset(offset).format(MP_DATE).unwrap_or_default()
}

/// `mp_date` of an optional instant, `null` when absent.
pub fn mp_date_opt(at: Option<OffsetDateTime>) -> Value {
    at.map(mp_date).map_or(Value::Null, Value::String)
}

/// A random RFC 4122 version 4 UUID, lowercase hyphenated.
pub fn uuid_v4() -> String {
    let mut bytes: [u8; 16] = rand::thread_rng().gen();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// A random positive id in the range real Mercado Pago ids live in (10–11 digits).
pub fn random_id() -> i64 {
    rand::thread_rng().gen_range(10_000_000_000..90_000_000_000)
}

/// `camelCase` and `PascalCase` keys become `snake_case`, recursively: Mercado Pago stores
/// `metadata` that way, so `{"orderId": 1}` comes back as `{"order_id": 1}`.
pub fn snake_case_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| (snake_case(k), snake_case_keys(v)))
            .collect(),
        Value::Array(items) => Value::Array(items.iter().map(snake_case_keys).collect()),
        other => other.clone(),
    }
}

fn snake_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for (i, c) in key.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_round_trip_through_cents() {
        assert_eq!(cents(&json!(1234.5)), Some(123_450));
        assert_eq!(cents(&json!(100)), Some(10_000));
        assert_eq!(cents(&json!("10.005")), Some(1001));
        assert_eq!(cents(&json!(0.1)), Some(10));
        assert_eq!(cents(&json!("abc")), None);
        assert_eq!(amount(123_450), json!(1234.5));
        assert_eq!(amount_string(5), "0.05");
    }

    #[test]
    fn tokens_name_their_collector() {
        let c = Collector::from_token("TEST-123-010203-abc-998877").unwrap();
        assert_eq!(
            c,
            Collector {
                id: 998_877,
                live_mode: false
            }
        );
        assert!(Collector::from_token("APP_USR-1-2-3-x").is_err());
        assert!(Collector::from_token("Bearer").is_err());
    }

    #[test]
    fn metadata_keys_become_snake_case() {
        assert_eq!(
            snake_case_keys(&json!({"orderId": {"ShopRef": 1}})),
            json!({"order_id": {"shop_ref": 1}})
        );
    }

    #[test]
    fn dates_use_mercado_pago_format() {
        let at = OffsetDateTime::from_unix_timestamp(1_659_301_468).unwrap();
        assert_eq!(mp_date(at), "2022-07-31T17:04:28.000-04:00");
    }
}
