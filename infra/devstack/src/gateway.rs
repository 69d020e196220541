//! A local API Gateway HTTP API: matches each request to a route of `template.yaml`, builds the
//! payload 2.0 event API Gateway would send, and passes it through `lambda_http`'s own adapter
//! (the code path `lambda_http::run` uses on Lambda) to the function's handler.

use crate::template::Route;
use base64::Engine;
use http::{HeaderMap, HeaderValue, StatusCode};
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Context, LambdaEvent, Service};
use mostrador::http::{respond, HttpHandler};
use mostrador::AppState;
use serde_json::{json, Map, Value};
use std::convert::Infallible;
use std::sync::Arc;

/// API Gateway HTTP APIs accept request bodies up to 10 MB.
pub const MAX_BODY: usize = 10 * 1024 * 1024;

#[derive(Clone)]
pub struct RouteTarget {
    pub route: Route,
    pub function: String,
    pub state: &'static AppState,
    pub handler: HttpHandler,
}

/// The routes of every HTTP function, ready for matching.
#[derive(Clone)]
pub struct RouteTable {
    routes: Vec<(Vec<Segment>, RouteTarget)>,
    default: Option<RouteTarget>,
}

#[derive(Clone, Debug, PartialEq)]
enum Segment {
    Literal(String),
    Param(String),
    Greedy(String),
}

impl RouteTable {
    pub fn new(targets: Vec<RouteTarget>) -> Self {
        let mut routes = Vec::new();
        let mut default = None;
        for target in targets {
            if target.route.route_key == "$default" {
                default = Some(target);
                continue;
            }
            let segments = target
                .route
                .path
                .trim_start_matches('/')
                .split('/')
                .filter(|s| !s.is_empty())
                .map(
                    |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                        Some(name) => match name.strip_suffix('+') {
                            Some(greedy) => Segment::Greedy(greedy.to_owned()),
                            None => Segment::Param(name.to_owned()),
                        },
                        None => Segment::Literal(s.to_owned()),
                    },
                )
                .collect();
            routes.push((segments, target));
        }
        Self { routes, default }
    }

    /// API Gateway's choice: the most specific matching route (literal segments beat
    /// parameters, parameters beat greedy ones), then `$default`.
    pub fn find(&self, method: &str, path: &str) -> Option<(&RouteTarget, Map<String, Value>)> {
        let parts: Vec<&str> = path
            .trim_start_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        let mut best: Option<(Vec<u8>, &RouteTarget, Map<String, Value>)> = None;
        for (segments, target) in &self.routes {
            if target.route.method != method && target.route.method != "ANY" {
                continue;
            }
            let Some((score, params)) = match_path(segments, &parts) else {
                continue;
            };
            if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
                best = Some((score, target, params));
            }
        }
        match best {
            Some((_, target, params)) => Some((target, params)),
            None => self.default.as_ref().map(|t| (t, Map::new())),
        }
    }
}

fn match_path(segments: &[Segment], parts: &[&str]) -> Option<(Vec<u8>, Map<String, Value>)> {
    let mut params = Map::new();
    let mut score = Vec::new();
    for (i, segment) in segments.iter().enumerate() {
        match segment {
            Segment::Greedy(name) => {
                if i >= parts.len() {
                    return None;
                }
                params.insert(
                    name.clone(),
                    Value::String(percent_decode(&parts[i..].join("/"))),
                );
                score.push(1);
                return Some((score, params));
            }
            Segment::Literal(lit) => {
                if parts.get(i) != Some(&lit.as_str()) {
                    return None;
                }
                score.push(3);
            }
            Segment::Param(name) => {
                let value = parts.get(i)?;
                params.insert(name.clone(), Value::String(percent_decode(value)));
                score.push(2);
            }
        }
    }
    (segments.len() == parts.len()).then_some((score, params))
}

/// Percent-decoding as API Gateway applies it to path and query parameters.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_text(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else { return true };
    let media = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    media.is_empty()
        || media.starts_with("text/")
        || media.ends_with("/json")
        || media.ends_with("+json")
        || media.ends_with("/xml")
        || media.ends_with("+xml")
        || media == "application/javascript"
        || media == "application/x-www-form-urlencoded"
}

pub struct Incoming<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub raw_query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub source_ip: String,
    pub request_id: String,
    pub now: time::OffsetDateTime,
}

/// The payload 2.0 event API Gateway sends for `req` on `route`.
pub fn event(req: &Incoming<'_>, route: &Route, path_params: Map<String, Value>) -> Value {
    let mut headers = Map::new();
    let mut cookies = Vec::new();
    for name in req.headers.keys() {
        let values: Vec<&str> = req
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if name == http::header::COOKIE {
            cookies.extend(
                values
                    .iter()
                    .flat_map(|v| v.split(';'))
                    .map(|c| Value::String(c.trim().to_owned())),
            );
            continue;
        }
        headers.insert(name.as_str().to_owned(), Value::String(values.join(",")));
    }
    headers.insert(
        "x-forwarded-for".into(),
        Value::String(req.source_ip.clone()),
    );
    headers.insert("x-forwarded-proto".into(), Value::String("http".into()));
    // Like API Gateway: `domainName` is the host the client called, the port goes in
    // X-Forwarded-Port (functions build their own public URL from these).
    let host = req
        .headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    let (domain, port) = match host.rsplit_once(':') {
        Some((d, p)) if !d.is_empty() && p.parse::<u16>().is_ok() => (d, Some(p)),
        _ => (host, None),
    };
    if let Some(port) = port {
        headers.insert("x-forwarded-port".into(), Value::String(port.to_owned()));
    }
    let domain_prefix = domain.split('.').next().unwrap_or(domain);
    let mut query = Map::new();
    for pair in req.raw_query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (
            percent_decode(&k.replace('+', " ")),
            percent_decode(&v.replace('+', " ")),
        );
        match query.get_mut(&k) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&v);
            }
            _ => {
                query.insert(k, Value::String(v));
            }
        }
    }
    let content_type = req
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let (body, base64) = if req.body.is_empty() {
        (Value::Null, false)
    } else {
        match std::str::from_utf8(req.body) {
            Ok(text) if is_text(content_type) => (Value::String(text.to_owned()), false),
            _ => (
                Value::String(base64::engine::general_purpose::STANDARD.encode(req.body)),
                true,
            ),
        }
    };
    let time_fmt = time::macros::format_description!(
        "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000"
    );
    let mut event = json!({
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": req.path,
        "rawQueryString": req.raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": crate::provision::ACCOUNT,
            "apiId": "local",
            "domainName": domain,
            "domainPrefix": domain_prefix,
            "http": {
                "method": req.method,
                "path": req.path,
                "protocol": "HTTP/1.1",
                "sourceIp": req.source_ip,
                "userAgent": req.headers.get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or(""),
            },
            "requestId": req.request_id,
            "routeKey": route.route_key,
            "stage": "$default",
            "time": req.now.format(&time_fmt).unwrap_or_default(),
            "timeEpoch": (req.now.unix_timestamp_nanos() / 1_000_000) as i64,
        },
        "isBase64Encoded": base64,
    });
    if let Some(obj) = event.as_object_mut() {
        if route.authorizer.as_deref() == Some("AWS_IAM") {
            if let Some(ctx) = obj.get_mut("requestContext").and_then(Value::as_object_mut) {
                ctx.insert(
                    "authorizer".into(),
                    json!({"iam": {
                        "accessKey": "LOCALOPERATOR",
                        "accountId": crate::provision::ACCOUNT,
                        "callerId": "LOCALOPERATOR",
                        "userArn": format!("arn:aws:iam::{}:user/local-operator", crate::provision::ACCOUNT),
                        "userId": "LOCALOPERATOR",
                    }}),
                );
            }
        }
        if !cookies.is_empty() {
            obj.insert("cookies".into(), Value::Array(cookies));
        }
        if !query.is_empty() {
            obj.insert("queryStringParameters".into(), Value::Object(query));
        }
        if !path_params.is_empty() {
            obj.insert("pathParameters".into(), Value::Object(path_params));
        }
        if !body.is_null() {
            obj.insert("body".into(), body);
        }
    }
    event
}

/// What API Gateway answers when the integration itself fails (never expected).
fn integration_failure() -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        headers,
        br#"{"message":"Internal Server Error"}"#.to_vec(),
    )
}

/// Invokes the function for one event and converts its response as API Gateway does.
pub async fn invoke(target: &RouteTarget, event: Value) -> (StatusCode, HeaderMap, Vec<u8>) {
    let request: LambdaRequest = match serde_json::from_value(event) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "local gateway built an event lambda_http cannot read");
            return integration_failure();
        }
    };
    let state = target.state;
    let handler = target.handler;
    let mut adapter = Adapter::from(lambda_http::service_fn(move |req| async move {
        Ok::<_, Infallible>(respond(state, req, handler).await)
    }));
    let Ok(response) = adapter
        .call(LambdaEvent::new(request, Context::default()))
        .await;
    let Ok(payload) = serde_json::to_value(&response) else {
        return integration_failure();
    };
    from_payload(&payload).unwrap_or_else(integration_failure)
}

fn from_payload(payload: &Value) -> Option<(StatusCode, HeaderMap, Vec<u8>)> {
    let status =
        StatusCode::from_u16(u16::try_from(payload.get("statusCode")?.as_u64()?).ok()?).ok()?;
    let mut headers = HeaderMap::new();
    if let Some(map) = payload.get("headers").and_then(Value::as_object) {
        for (k, v) in map {
            if let (Ok(name), Some(Ok(value))) = (
                http::HeaderName::from_bytes(k.as_bytes()),
                v.as_str().map(HeaderValue::from_str),
            ) {
                headers.append(name, value);
            }
        }
    }
    if let Some(map) = payload.get("multiValueHeaders").and_then(Value::as_object) {
        for (k, values) in map {
            let Ok(name) = http::HeaderName::from_bytes(k.as_bytes()) else {
                continue;
            };
            if headers.contains_key(&name) {
                continue;
            }
            for v in values
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if let Ok(value) = HeaderValue::from_str(v) {
                    headers.append(name.clone(), value);
                }
            }
        }
    }
    for cookie in payload
        .get("cookies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(Ok(value)) = cookie.as_str().map(HeaderValue::from_str) {
            headers.append(http::header::SET_COOKIE, value);
        }
    }
    let body = match payload.get("body").and_then(Value::as_str) {
        None => Vec::new(),
        Some(text) if payload.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) => {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .ok()?
        }
        Some(text) => text.as_bytes().to_vec(),
    };
    Some((status, headers, body))
}

/// Shared by the gateway's HTTP server.
pub type SharedRoutes = Arc<RouteTable>;
