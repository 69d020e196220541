//! A local Lambda Runtime API (the part a custom runtime talks to): `/next` hands out events,
//! `/response` and `/error` take results. One stub per process under test.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot, Mutex};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type Res<T> = Result<T, BoxError>;

/// What the process under test returned for one invocation.
#[derive(Debug)]
pub struct Outcome {
    pub error: bool,
    pub body: Vec<u8>,
}

struct Shared {
    first_next: Mutex<Option<oneshot::Sender<Instant>>>,
    events: Mutex<mpsc::Receiver<Vec<u8>>>,
    outcomes: mpsc::UnboundedSender<Outcome>,
    counter: std::sync::atomic::AtomicU64,
}

pub struct Stub {
    pub addr: String,
    pub first_next: Option<oneshot::Receiver<Instant>>,
    events: mpsc::Sender<Vec<u8>>,
    outcomes: mpsc::UnboundedReceiver<Outcome>,
    task: tokio::task::JoinHandle<()>,
}

impl Stub {
    pub async fn start() -> Result<Self, BoxError> {
        let (first_tx, first_rx) = oneshot::channel();
        let (events_tx, events_rx) = mpsc::channel(1);
        let (outcomes_tx, outcomes_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            first_next: Mutex::new(Some(first_tx)),
            events: Mutex::new(events_rx),
            outcomes: outcomes_tx,
            counter: Default::default(),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?.to_string();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            addr,
            first_next: Some(first_rx),
            events: events_tx,
            outcomes: outcomes_rx,
            task,
        })
    }

    /// Hands one event to the process and waits for its result.
    pub async fn invoke(&mut self, event: Vec<u8>, timeout: Duration) -> Result<Outcome, BoxError> {
        self.events.send(event).await?;
        match tokio::time::timeout(timeout, self.outcomes.recv()).await {
            Ok(Some(outcome)) => Ok(outcome),
            Ok(None) => Err("runtime stub closed".into()),
            Err(_) => Err("invocation timed out".into()),
        }
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    if let Some(tx) = shared.first_next.lock().await.take() {
        let _ = tx.send(Instant::now());
    }
    let event = {
        let mut events = shared.events.lock().await;
        events.recv().await
    };
    let Some(event) = event else {
        return StatusCode::GONE.into_response();
    };
    let n = shared
        .counter
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let deadline = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() + 30_000)
        .unwrap_or_default();
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    put("lambda-runtime-aws-request-id", format!("bench-{n:08}"));
    put("lambda-runtime-deadline-ms", deadline.to_string());
    put(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:bench".to_owned(),
    );
    put(
        "lambda-runtime-trace-id",
        format!("Root=1-00000000-{n:024x};Sampled=0"),
    );
    put("content-type", "application/json".to_owned());
    (StatusCode::OK, headers, event).into_response()
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(_id): Path<String>,
    body: axum::body::Bytes,
) -> StatusCode {
    let _ = shared.outcomes.send(Outcome {
        error: false,
        body: body.to_vec(),
    });
    StatusCode::ACCEPTED
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(_id): Path<String>,
    body: axum::body::Bytes,
) -> StatusCode {
    let _ = shared.outcomes.send(Outcome {
        error: true,
        body: body.to_vec(),
    });
    StatusCode::ACCEPTED
}

async fn init_error(State(shared): State<Arc<Shared>>, body: axum::body::Bytes) -> StatusCode {
    let _ = shared.outcomes.send(Outcome {
        error: true,
        body: body.to_vec(),
    });
    StatusCode::ACCEPTED
}
