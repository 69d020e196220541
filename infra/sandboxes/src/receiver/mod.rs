//! A scripted stand-in for a shop's webhook endpoint (and for any callback URL: the WhatsApp
//! sandbox posts its status webhooks here in tests).
//!
//! Every request whose path is not under `/_receiver/` is recorded exactly as it arrived
//! (method, path, raw query, every header in arrival order, the raw body bytes) and answered
//! from a per-path script: a FIFO of [`ScriptedResponse`]s pushed by the test. An empty script
//! answers `200 {"ok":true}`. The request is recorded *before* a scripted delay is slept, so a
//! test can see a request whose sender timed out.
//!
//! Header names are lower-case: HTTP/1 header names are case-insensitive and hyper normalises
//! them. Header values and the body are byte-exact (the body as standard base64; a lossy UTF-8
//! copy is kept for readable assertions only, never verify signatures against it).
//!
//! Control API (JSON):
//! - `POST /_receiver/script` `{"path":"/hooks/a","responses":[{"status":429,"headers":{"Retry-After":"3"}}]}`
//!   appends to that path's FIFO; answers `{"path":…,"queued":<pending count>}`.
//! - `DELETE /_receiver/script?path=/hooks/a` drops pending responses (all paths without `path`).
//! - `GET /_receiver/requests?path=/hooks/a[&min=N&timeout_ms=T]` lists recorded requests
//!   (all paths without `path`), oldest first; with `min` it long-polls until at least N are
//!   recorded or the timeout (default 5000 ms, capped at 60 s) passes, then answers what it has.
//! - `GET /_receiver/requests/count?path=…` answers `{"count":N}`.
//! - `DELETE /_receiver/requests` forgets recorded requests; `POST /_receiver/reset` forgets
//!   requests and scripts.

mod routes;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::AbortHandle;

/// Prefix of the control API; paths under it are never recorded.
pub const CONTROL_PREFIX: &str = "/_receiver/";

/// One response the receiver gives, in script order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScriptedResponse {
    /// HTTP status; 200 when omitted.
    #[serde(default = "default_status")]
    pub status: u16,
    /// Extra response headers, e.g. `Retry-After` or `Location`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Raw body text. Ignored when `json` is set.
    #[serde(default)]
    pub body: Option<String>,
    /// JSON body (sets `content-type: application/json` unless a header says otherwise).
    #[serde(default)]
    pub json: Option<serde_json::Value>,
    /// Wait this long before answering (the request is recorded first).
    #[serde(default)]
    pub delay_ms: u64,
}

fn default_status() -> u16 {
    200
}

/// `200` with an empty body, no delay.
impl Default for ScriptedResponse {
    fn default() -> Self {
        Self {
            status: default_status(),
            headers: BTreeMap::new(),
            body: None,
            json: None,
            delay_ms: 0,
        }
    }
}

impl ScriptedResponse {
    /// An empty-bodied response with this status.
    pub fn status(status: u16) -> Self {
        Self {
            status,
            ..Self::default()
        }
    }

    /// `status` with a `Retry-After: <seconds>` header (429 and 503 in practice).
    pub fn retry_after(status: u16, seconds: u64) -> Self {
        Self::status(status).header("Retry-After", &seconds.to_string())
    }

    /// A redirect (`301`, `302`, `307`, `308`) to `location`.
    pub fn redirect(status: u16, location: &str) -> Self {
        Self::status(status).header("Location", location)
    }

    /// Adds a response header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.insert(name.to_owned(), value.to_owned());
        self
    }

    /// Sets a raw text body.
    pub fn body(mut self, body: &str) -> Self {
        self.body = Some(body.to_owned());
        self
    }

    /// Sets a JSON body.
    pub fn json(mut self, json: serde_json::Value) -> Self {
        self.json = Some(json);
        self
    }

    /// Delays the answer.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self
    }
}

/// A request as the receiver saw it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// Arrival order across all paths, from 1.
    pub seq: u64,
    pub method: String,
    pub path: String,
    /// Raw query string without the `?`, exactly as sent.
    pub query: Option<String>,
    /// `[name, value]` pairs in arrival order; repeated headers appear repeatedly.
    pub headers: Vec<(String, String)>,
    /// The exact body bytes, standard base64.
    pub body_base64: String,
    /// The body as UTF-8 with invalid sequences replaced; for reading, not for signatures.
    pub body_text: String,
    /// RFC 3339, UTC.
    pub received_at: String,
}

impl RecordedRequest {
    /// The exact body bytes.
    pub fn body_bytes(&self) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(&self.body_base64)
            .unwrap_or_default()
    }

    /// The first value of a header, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body_bytes()).ok()
    }
}

#[derive(Default)]
struct Inner {
    next_seq: u64,
    requests: Vec<RecordedRequest>,
    scripts: HashMap<String, VecDeque<ScriptedResponse>>,
}

#[derive(Default)]
pub(crate) struct State {
    inner: Mutex<Inner>,
    /// Woken on every recorded request, for `wait_for` and the long-poll.
    recorded: Notify,
}

impl State {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicking holder cannot leave `Inner` half-updated in a way that matters here.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn requests(&self, path: Option<&str>) -> Vec<RecordedRequest> {
        self.lock()
            .requests
            .iter()
            .filter(|r| path.is_none_or(|p| r.path == p))
            .cloned()
            .collect()
    }

    fn push_script(&self, path: &str, responses: Vec<ScriptedResponse>) -> usize {
        let mut inner = self.lock();
        let queue = inner.scripts.entry(path.to_owned()).or_default();
        queue.extend(responses);
        queue.len()
    }

    async fn wait_for(
        &self,
        path: Option<&str>,
        min: usize,
        timeout: Duration,
    ) -> Vec<RecordedRequest> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Register interest before checking, so a request recorded in between still wakes us.
            let notified = self.recorded.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let seen = self.requests(path);
            if seen.len() >= min {
                return seen;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.requests(path);
            }
        }
    }
}

/// A running receiver. Cloning shares the same server and state.
#[derive(Clone)]
pub struct Handle {
    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub base_url: String,
    state: Arc<State>,
    task: AbortHandle,
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl Handle {
    /// `base_url` + `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Requests recorded for exactly this path (no query), oldest first.
    pub fn requests(&self, path: &str) -> Vec<RecordedRequest> {
        self.state.requests(Some(path))
    }

    /// Every recorded request, oldest first.
    pub fn all_requests(&self) -> Vec<RecordedRequest> {
        self.state.requests(None)
    }

    /// Appends responses to the path's FIFO; returns how many are now pending.
    pub fn script(&self, path: &str, responses: Vec<ScriptedResponse>) -> usize {
        self.state.push_script(path, responses)
    }

    /// Forgets recorded requests (scripts stay).
    pub fn clear(&self) {
        self.state.lock().requests.clear();
    }

    /// Forgets recorded requests and pending scripts.
    pub fn reset(&self) {
        let mut inner = self.state.lock();
        inner.requests.clear();
        inner.scripts.clear();
    }

    /// Waits until at least `count` requests were recorded for `path` or `timeout` passes;
    /// returns what was recorded by then (fewer than `count` on timeout).
    pub async fn wait_for(
        &self,
        path: &str,
        count: usize,
        timeout: Duration,
    ) -> Vec<RecordedRequest> {
        self.state.wait_for(Some(path), count, timeout).await
    }

    /// Stops the server.
    pub fn shutdown(&self) {
        self.task.abort();
    }
}

/// Serves the receiver on `listener` until the runtime stops or [`Handle::shutdown`].
pub async fn start(listener: TcpListener) -> Handle {
    let base_url = base_url_of(&listener);
    let state = Arc::new(State::default());
    let app = routes::router(Arc::clone(&state));
    let task = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "webhook receiver sandbox stopped");
        }
    });
    Handle {
        base_url,
        state,
        task: task.abort_handle(),
    }
}

/// `http://<addr>` of a bound listener.
pub(crate) fn base_url_of(listener: &TcpListener) -> String {
    match listener.local_addr() {
        Ok(addr) => format!("http://{addr}"),
        Err(error) => {
            tracing::error!(%error, "listener has no local address");
            "http://127.0.0.1:0".to_owned()
        }
    }
}

/// Now as RFC 3339 UTC.
pub(crate) fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}
