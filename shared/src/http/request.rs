use crate::error::{ApiError, FieldError};
use http::{HeaderMap, Method};
use lambda_http::request::RequestContext;
use lambda_http::{Body, RequestExt};
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// Default limit for JSON request bodies (API Gateway itself accepts up to 10 MB).
pub const MAX_JSON_BODY: usize = 256 * 1024;

/// One API request as our handlers see it.
#[derive(Debug)]
pub struct ApiRequest {
    /// The matched API Gateway route, e.g. `GET /health/{component}` or `$default`.
    pub route_key: String,
    /// API Gateway's request id: logged, returned in `X-Request-Id` and in every problem body.
    pub request_id: String,
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    /// API Gateway's `requestContext.domainName`: the host the client called (the
    /// `execute-api` host or a custom domain).
    pub domain_name: Option<String>,
    path_params: HashMap<String, String>,
    query: HashMap<String, Vec<String>>,
    body: Vec<u8>,
}

impl ApiRequest {
    pub fn from_lambda(req: lambda_http::Request) -> Self {
        let (route_key, request_id, domain_name) = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(ctx)) => (
                ctx.route_key
                    .clone()
                    .unwrap_or_else(|| "$default".to_owned()),
                ctx.request_id.clone().unwrap_or_default(),
                ctx.domain_name.clone().filter(|d| !d.is_empty()),
            ),
            _ => ("$default".to_owned(), String::new(), None),
        };
        let request_id = if request_id.is_empty() {
            ulid::Ulid::new().to_string()
        } else {
            request_id
        };
        let path_params = req
            .path_parameters_ref()
            .map(|p| {
                p.iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let query = req
            .query_string_parameters_ref()
            .map(|q| {
                q.iter()
                    .map(|(k, _)| {
                        (
                            k.to_owned(),
                            q.all(k)
                                .unwrap_or_default()
                                .into_iter()
                                .map(str::to_owned)
                                .collect(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let (parts, body) = req.into_parts();
        let body = match body {
            Body::Empty => Vec::new(),
            Body::Text(text) => text.into_bytes(),
            Body::Binary(bytes) => bytes,
            _ => Vec::new(),
        };
        Self {
            route_key,
            request_id,
            method: parts.method,
            path: parts.uri.path().to_owned(),
            headers: parts.headers,
            domain_name,
            path_params,
            query,
            body,
        }
    }

    /// A path parameter the route declares; absent only if the route table is wrong.
    pub fn path_param(&self, name: &str) -> Result<&str, ApiError> {
        self.path_params
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| {
                ApiError::bad_request(
                    "missing_path_parameter",
                    format!("path parameter {name} is missing"),
                )
            })
    }

    /// The single value of a query parameter; repeated parameters are an error.
    pub fn query(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.query.get(name).map(Vec::as_slice) {
            None | Some([]) => Ok(None),
            Some([one]) => Ok(Some(one.as_str())),
            Some(_) => Err(ApiError::validation(vec![FieldError::new(
                name,
                "repeated",
                "must be given at most once",
            )])),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Parses the body as JSON into `T`: 415 for a non-JSON content type, 413 over `limit`
    /// bytes, 400 `invalid_json` for malformed JSON or a duplicate key, 422
    /// `validation_failed` naming the JSON pointer of the field for a well-formed body of the
    /// wrong shape (see [`super::strict`]).
    pub fn json_limited<T: DeserializeOwned>(&self, limit: usize) -> Result<T, ApiError> {
        let content_type = self.header("content-type").unwrap_or("");
        let media = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if media != "application/json" && !media.ends_with("+json") {
            return Err(ApiError::unsupported_media_type("application/json"));
        }
        if self.body.len() > limit {
            return Err(ApiError::payload_too_large(limit));
        }
        let text = std::str::from_utf8(&self.body).map_err(|_| {
            ApiError::bad_request("invalid_json", "request body is not valid UTF-8")
        })?;
        // Every route's body goes through the same strict reading: objects only, no duplicate
        // keys, no unknown fields, no `null` for "absent" (see `strict`).
        super::strict::body(text)
    }

    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        self.json_limited(MAX_JSON_BODY)
    }
}
