//! The API's one error type, rendered as RFC 9457 problem details.
//!
//! Every expected failure is an [`ApiError`] with a stable machine `code`; clients switch on the
//! code, humans read `detail`. Internal failures keep their cause for the log and show the
//! client nothing but a request id.

use http::{HeaderName, HeaderValue, StatusCode};
use lambda_http::{Body, Response};
use serde::Serialize;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One offending input field of a validation error.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct FieldError {
    /// A body that fails parsing: the JSON pointer (RFC 6901) of the value (`/amount`,
    /// `/items/0/quantity`, `""` for the whole body). Checks after parsing and query
    /// parameters: the field's name (`to`, `limit`).
    pub field: String,
    /// Parsing: `duplicate_key`, `invalid_type`, `unknown_field`, `null_not_allowed`,
    /// `required`, `out_of_range`, `invalid_value`. After parsing: `required`, `invalid`,
    /// `invalid_format`, `out_of_range`, …
    pub code: String,
    pub message: String,
}

/// RFC 9457 problem details. Clients switch on `code`; humans read `detail`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "type": "urn:mostrador:problem:validation_failed", "title": "Unprocessable Entity",
    "status": 422, "code": "validation_failed", "detail": "to: not a valid e-mail address",
    "request_id": "01JD4S2V3N8Q9K1M2X7YB5ZC6T",
    "errors": [{"field": "to", "code": "invalid_format", "message": "not a valid e-mail address"}]
}))]
pub struct Problem<'a> {
    /// `urn:mostrador:problem:<code>`
    #[serde(rename = "type")]
    #[schema(example = "urn:mostrador:problem:validation_failed")]
    pub type_uri: String,
    #[schema(example = "Unprocessable Entity")]
    pub title: &'a str,
    #[schema(example = 422)]
    pub status: u16,
    /// Stable machine code
    #[schema(example = "validation_failed")]
    pub code: &'a str,
    pub detail: &'a str,
    /// Also in the `X-Request-Id` header; quote it when reporting a problem
    pub request_id: &'a str,
    /// Present on 422 `validation_failed` (one entry per offending field) and on a 400
    /// `invalid_json` caused by a duplicate key
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    #[schema(required = false)]
    pub errors: &'a [FieldError],
}

impl FieldError {
    pub fn new(
        field: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            code: code.into(),
            message: message.into(),
        }
    }
}

/// Boxed so every `Result<_, ApiError>` stays one pointer wide.
#[derive(Debug)]
pub struct ApiError(Box<Parts>);

#[derive(Debug)]
struct Parts {
    status: StatusCode,
    code: &'static str,
    detail: String,
    errors: Vec<FieldError>,
    headers: Vec<(HeaderName, HeaderValue)>,
    extra: Option<serde_json::Map<String, serde_json::Value>>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self(Box::new(Parts {
            status,
            code,
            detail: detail.into(),
            errors: Vec::new(),
            headers: Vec::new(),
            extra: None,
            source: None,
        }))
    }

    /// 400: the request cannot be parsed at all (malformed JSON, bad query string).
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    /// 422 `validation_failed`: well-formed but invalid fields, each listed.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            many => format!("{} fields are invalid", many.len()),
        };
        let mut err = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            detail,
        );
        err.0.errors = errors;
        err
    }

    /// Lists the offending fields of a problem other than `validation_failed` (a 400
    /// `invalid_json` names the duplicate key with code `duplicate_key`).
    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.0.errors = errors;
        self
    }

    /// 404 `not_found`: also what a project gets for another project's resource.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    /// 409: the request conflicts with the resource's current state.
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    /// 401: no, or no valid, credentials.
    pub fn unauthorized(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, detail).with_header(
            http::header::WWW_AUTHENTICATE,
            "ApiKey header=\"X-API-KEY\"",
        )
    }

    /// 403: valid credentials that may not do this.
    pub fn forbidden(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, detail)
    }

    /// 413 `payload_too_large`.
    pub fn payload_too_large(limit_bytes: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("request body exceeds the limit of {limit_bytes} bytes"),
        )
    }

    /// 415 `unsupported_media_type`.
    pub fn unsupported_media_type(expected: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("expected Content-Type {expected}"),
        )
    }

    /// 503: a dependency is unavailable; safe to retry.
    pub fn unavailable(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, detail)
    }

    /// 500 `internal_error`: the cause goes to the log, never to the client.
    pub fn internal(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        let mut err = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "an internal error occurred; quote the request id when reporting it",
        );
        err.0.source = Some(source.into());
        err
    }

    /// Keeps the cause of a non-internal problem for the log (never rendered to the client).
    pub fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        self.0.source = Some(source.into());
        self
    }

    pub fn with_header(mut self, name: HeaderName, value: impl TryInto<HeaderValue>) -> Self {
        if let Ok(value) = value.try_into() {
            self.0.headers.push((name, value));
        }
        self
    }

    /// Adds a member to the problem object (RFC 9457 extension members, e.g. `flag`).
    pub fn with_member(mut self, name: &str, value: impl Into<serde_json::Value>) -> Self {
        self.0
            .extra
            .get_or_insert_with(Default::default)
            .insert(name.to_owned(), value.into());
        self
    }

    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    pub fn code(&self) -> &'static str {
        self.0.code
    }

    pub fn detail(&self) -> &str {
        &self.0.detail
    }

    pub fn field_errors(&self) -> &[FieldError] {
        &self.0.errors
    }

    pub fn source_error(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.0.source.as_deref()
    }

    /// The problem+json body.
    pub fn problem(&self, request_id: &str) -> serde_json::Value {
        let mut body = serde_json::to_value(Problem {
            type_uri: format!("urn:mostrador:problem:{}", self.0.code),
            title: self.0.status.canonical_reason().unwrap_or("Error"),
            status: self.0.status.as_u16(),
            code: self.0.code,
            detail: &self.0.detail,
            request_id,
            errors: &self.0.errors,
        })
        .unwrap_or_default();
        if let Some(obj) = body.as_object_mut() {
            if let Some(extra) = &self.0.extra {
                for (k, v) in extra {
                    obj.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        }
        body
    }

    /// Renders the HTTP response: problem+json body, request id and any extra headers.
    pub fn into_response(self, request_id: &str) -> Response<Body> {
        let body = self.problem(request_id).to_string();
        let mut response = Response::new(Body::Text(body));
        *response.status_mut() = self.0.status;
        let headers = response.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static(PROBLEM_JSON),
        );
        for (name, value) in self.0.headers {
            headers.append(name, value);
        }
        response
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.0.status.as_u16(),
            self.0.code,
            self.0.detail
        )?;
        if let Some(source) = &self.0.source {
            write!(
                f,
                " (caused by: {})",
                crate::telemetry::error_chain(source.as_ref())
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_problem_lists_fields_and_request_id() {
        let err = ApiError::validation(vec![FieldError::new(
            "recipient",
            "required",
            "is required",
        )]);
        let body = err.problem("req-1");
        assert_eq!(body["status"], 422);
        assert_eq!(body["code"], "validation_failed");
        assert_eq!(body["type"], "urn:mostrador:problem:validation_failed");
        assert_eq!(body["request_id"], "req-1");
        assert_eq!(body["errors"][0]["field"], "recipient");
        assert_eq!(body["detail"], "recipient: is required");
    }

    #[test]
    fn internal_error_hides_its_cause_from_the_client() {
        let err = ApiError::internal(std::io::Error::other("db password=hunter2 rejected"));
        let response = err.into_response("req-2");
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()["content-type"], PROBLEM_JSON);
        let Body::Text(text) = response.body() else {
            panic!("text body")
        };
        assert!(!text.contains("hunter2"));
        assert!(text.contains("req-2"));
    }

    #[test]
    fn extension_members_and_headers_are_rendered() {
        let err = ApiError::forbidden("feature_disabled", "off")
            .with_member("flag", "payments.mercadopago")
            .with_header(http::header::RETRY_AFTER, "3");
        assert_eq!(err.problem("r")["flag"], "payments.mercadopago");
        let response = err.into_response("r");
        assert_eq!(response.headers()["retry-after"], "3");
    }
}
