//! Graph API errors: the synchronous HTTP error body and the `errors[]` entries of a `failed`
//! status webhook, with the codes, titles and HTTP statuses of Meta's error-code table.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rand::distributions::Alphanumeric;
use rand::Rng as _;
use serde_json::{json, Value};

const ERROR_CODES_HREF: &str =
    "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/";

/// A synchronous Graph API error: `{"error":{message,type,code,error_subcode?,error_data?,fbtrace_id}}`.
#[derive(Debug, Clone)]
pub(crate) struct GraphError {
    pub(crate) http: StatusCode,
    pub(crate) kind: &'static str,
    pub(crate) code: i64,
    pub(crate) subcode: Option<i64>,
    pub(crate) message: String,
    pub(crate) details: Option<String>,
}

impl GraphError {
    fn new(http: StatusCode, code: i64, message: String) -> Self {
        Self {
            http,
            kind: "OAuthException",
            code,
            subcode: None,
            message,
            details: None,
        }
    }

    fn details(mut self, details: &str) -> Self {
        self.details = Some(details.to_owned());
        self
    }

    /// 190, missing or unparseable token (HTTP 401 with `WWW-Authenticate`, as Graph does).
    pub(crate) fn invalid_token() -> Self {
        let message = "Invalid OAuth access token - Cannot parse access token".to_owned();
        Self::new(StatusCode::UNAUTHORIZED, 190, message)
    }

    /// 190/463, an expired token (what test recipients ending in 0190 get).
    pub(crate) fn expired_token() -> Self {
        let message = "Error validating access token: Session has expired on Tuesday, 01-Jul-25 \
                       10:00:00 PDT. The current time is Wednesday, 02-Jul-25 10:00:00 PDT."
            .to_owned();
        let mut error = Self::new(StatusCode::UNAUTHORIZED, 190, message);
        error.subcode = Some(463);
        error
    }

    /// 100, a required parameter is absent.
    pub(crate) fn required(param: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            100,
            format!("(#100) The parameter {param} is required."),
        )
    }

    /// 100, a parameter has the wrong type or value.
    pub(crate) fn invalid(details: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            100,
            "(#100) Invalid parameter".to_owned(),
        )
        .details(details)
    }

    /// 100/33, the node (phone number id) does not exist or does not support the edge.
    pub(crate) fn unsupported_post(id: &str) -> Self {
        let message = format!(
            "Unsupported post request. Object with ID '{id}' does not exist, cannot be loaded due \
             to missing permissions, or does not support this operation. Please read the Graph \
             API documentation at https://developers.facebook.com/docs/graph-api"
        );
        let mut error = Self::new(StatusCode::BAD_REQUEST, 100, message);
        error.kind = "GraphMethodException";
        error.subcode = Some(33);
        error
    }

    /// 2500, a path the Graph API does not know (e.g. a malformed version segment).
    pub(crate) fn unknown_path(path: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            2500,
            format!("Unknown path components: {path}"),
        )
    }

    /// One of the WhatsApp-specific codes, with its table title and HTTP status.
    pub(crate) fn whatsapp(code: i64) -> Self {
        let (http, title, details) = catalogue(code);
        Self::new(http, code, format!("(#{code}) {title}")).details(details)
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let mut error = json!({
            "message": self.message,
            "type": self.kind,
            "code": self.code,
            "fbtrace_id": fbtrace_id(),
        });
        if let Some(subcode) = self.subcode {
            error["error_subcode"] = json!(subcode);
        }
        if let Some(details) = &self.details {
            error["error_data"] = json!({ "messaging_product": "whatsapp", "details": details });
        }
        let mut response = (self.http, Json(json!({ "error": error }))).into_response();
        if self.code == 190 {
            let challenge = format!(
                r#"OAuth "Facebook Platform" "invalid_token" "{}""#,
                self.message
            );
            if let Ok(value) = HeaderValue::try_from(challenge) {
                response
                    .headers_mut()
                    .insert(http::header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}

/// An entry of a `failed` status webhook's `errors[]`.
pub(crate) fn webhook_error(code: i64) -> Value {
    let (_, title, details) = catalogue(code);
    json!({
        "code": code,
        "title": title,
        "message": title,
        "error_data": { "details": details },
        "href": ERROR_CODES_HREF,
    })
}

/// HTTP status, title and details of the codes the sandbox produces.
fn catalogue(code: i64) -> (StatusCode, &'static str, &'static str) {
    match code {
        130429 => (
            StatusCode::BAD_REQUEST,
            "Rate limit hit",
            "Cloud API message throughput has been reached.",
        ),
        131056 => (
            StatusCode::BAD_REQUEST,
            "(Business Account, Consumer Account) pair rate limit hit",
            "Too many messages sent from the sender phone number to the same recipient phone \
             number in a short period of time.",
        ),
        131000 => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "Message failed to send due to an unknown error.",
        ),
        131047 => (
            StatusCode::BAD_REQUEST,
            "Re-engagement message",
            "Message failed to send because more than 24 hours have passed since the customer \
             last replied to this number.",
        ),
        131026 => (
            StatusCode::BAD_REQUEST,
            "Message undeliverable",
            "Message Undeliverable.",
        ),
        132000 => (
            StatusCode::BAD_REQUEST,
            "Number of parameters does not match the expected number of params",
            "body: number of localizable_params does not match the expected number of params",
        ),
        132001 => (
            StatusCode::NOT_FOUND,
            "Template name does not exist in the translation",
            "template name does not exist in the translation",
        ),
        _ => (
            StatusCode::BAD_REQUEST,
            "Something went wrong",
            "Unknown error.",
        ),
    }
}

/// Graph's opaque per-request trace id.
fn fbtrace_id() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(27)
        .map(char::from)
        .collect()
}
