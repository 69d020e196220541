//! The black-box test harness.
//!
//! [`shared`] starts one local stack per test binary (DynamoDB Local and moto in memory, on
//! free ports, plus the local gateway and pollers) on a thread of its own, so every
//! `#[tokio::test]` can call it over HTTP whatever runtime it runs on. Tests that break the
//! stack on purpose use [`dedicated`] instead and get a stack of their own.

// A test harness: failing loudly is its job.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use mostrador::telemetry::{self, Sink};
use mostrador_devstack::{Stack, StackOptions};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// Every log line any stack of this test binary wrote (already scrubbed, as in production).
pub fn log_lines() -> Vec<String> {
    logs().lock().map(|l| l.clone()).unwrap_or_default()
}

fn logs() -> &'static Arc<Mutex<Vec<String>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<String>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let lines = Arc::new(Mutex::new(Vec::new()));
        telemetry::init(
            "info,aws_config=warn,aws_smithy_runtime=warn",
            Sink::Memory(lines.clone()),
        );
        lines
    })
}

fn options() -> StackOptions {
    static N: AtomicU32 = AtomicU32::new(0);
    let mut options = StackOptions::ephemeral(repo_root());
    options.stack_name = format!(
        "t{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    options
}

/// What tests know of the shared stack.
#[derive(Debug, Clone)]
pub struct TestStack {
    pub api_url: String,
    pub operator_token: String,
    pub mercadopago_url: String,
    pub whatsapp_url: String,
    pub receiver_url: String,
}

/// Fails the calling test if any function of any local stack of this binary was refused an
/// AWS call by its IAM policy so far (the stack enforces `template.yaml`'s `Policies`; see
/// `mostrador_devstack::iam`). The message names the function, action, resource and the
/// statement to add.
///
/// Checked where every test passes: on entry ([`shared`], [`dedicated`]) and in the common
/// helpers ([`TestStack::admin`], [`TestStack::project`], [`expect_problem`]). A denial in a
/// background function (sender, dispatcher, sweeper…) may come after its own test finished;
/// the next test to start or use a helper reports it, and `blackbox::iam` drives every function
/// itself and checks the registry once everything it started has settled, so no denial on those
/// paths can go unreported whatever the test order.
pub fn assert_no_denials() {
    if let Some(report) = mostrador_devstack::iam::denial_report() {
        panic!("{report}");
    }
}

/// The stack shared by every test of this binary.
pub fn shared() -> &'static TestStack {
    assert_no_denials();
    static STACK: OnceLock<TestStack> = OnceLock::new();
    STACK.get_or_init(|| {
        let _ = logs();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = tx.send(Err(e.to_string()));
                    return;
                }
            };
            runtime.block_on(async move {
                match start(options).await {
                    Ok(stack) => {
                        let _ = tx.send(Ok(test_stack(&stack)));
                        // Lives as long as the test binary; its emulators die with it.
                        std::future::pending::<()>().await;
                        drop(stack);
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                    }
                }
            });
        });
        match rx.recv() {
            Ok(Ok(stack)) => stack,
            Ok(Err(e)) => {
                panic!("the local stack did not start: {e} (run `make bootstrap` first?)")
            }
            Err(_) => panic!("the local stack thread died"),
        }
    })
}

/// A stack of the caller's own, on the caller's runtime, for tests that stop emulators or call
/// handlers in process. Shut it down at the end of the test.
/// What tests know of a stack of their own (see [`dedicated`]).
pub fn test_stack(stack: &Stack) -> TestStack {
    TestStack {
        api_url: stack.api_url.clone(),
        operator_token: stack.operator_token().to_owned(),
        mercadopago_url: stack.mercadopago.base_url.clone(),
        whatsapp_url: stack.whatsapp.base_url.clone(),
        receiver_url: stack.receiver.base_url.clone(),
    }
}

/// Starts a stack, and once more on fresh ports if the first start fails. Emulator ports come
/// from `free_port`, which hands each out once and never from the kernel's ephemeral range, so
/// another test's listener cannot take one between the choice and the bind (CI once saw moto's
/// CreateQueue answered by something else when ports were port-0 picks); the retry is for what
/// is left, e.g. another process on the machine. A second failure is reported as it is.
async fn start(options: fn() -> StackOptions) -> Result<Stack, mostrador_devstack::StackError> {
    match Stack::start(options()).await {
        Ok(stack) => Ok(stack),
        Err(first) => {
            eprintln!("the local stack did not start ({first}); trying once more on fresh ports");
            Stack::start(options()).await
        }
    }
}

pub async fn dedicated() -> Stack {
    assert_no_denials();
    let _ = logs();
    match start(options).await {
        Ok(stack) => stack,
        Err(e) => panic!("the local stack did not start: {e} (run `make bootstrap` first?)"),
    }
}

/// [`dedicated`] with options of the caller's (e.g. an empty `public_api_url`).
pub async fn dedicated_with(adjust: impl FnOnce(&mut StackOptions)) -> Stack {
    let _ = logs();
    let mut options = options();
    adjust(&mut options);
    match Stack::start(options).await {
        Ok(stack) => stack,
        Err(e) => panic!("the local stack did not start: {e} (run `make bootstrap` first?)"),
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

/// Asserts `response` is problem+json with `status` and `code`, and returns the body.
pub async fn expect_problem(
    response: reqwest::Response,
    status: u16,
    code: &str,
) -> serde_json::Value {
    assert_no_denials();
    let actual = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let request_id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = response.text().await.unwrap_or_default();
    assert_eq!(actual, status, "status; body: {text}");
    assert_eq!(
        content_type, "application/problem+json",
        "content type; body: {text}"
    );
    let body: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    assert_eq!(body["code"], code, "problem code; body: {text}");
    assert_eq!(body["status"], status);
    if let Some(id) = request_id {
        assert_eq!(
            body["request_id"],
            id.as_str(),
            "problem names the request id"
        );
    }
    body
}

/// A project created through the admin API, with its first key.
#[derive(Debug, Clone)]
pub struct TestProject {
    pub id: String,
    pub key: String,
    pub key_id: String,
}

impl TestStack {
    /// Calls the operator API with the local operator token.
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> reqwest::Response {
        assert_no_denials();
        let mut req = client()
            .request(method, format!("{}{path}", self.api_url))
            .bearer_auth(&self.operator_token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let response = req.send().await.unwrap();
        // A refused call surfaces as a 500: name its cause rather than the status.
        assert_no_denials();
        response
    }

    /// A fresh project (plan pro unless `patch` says otherwise), patched with `patch`.
    pub async fn project(&self, patch: Option<serde_json::Value>) -> TestProject {
        assert_no_denials();
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let created = self
            .admin(
                reqwest::Method::POST,
                "/admin/projects",
                Some(serde_json::json!({"name": format!("Shop {n}"), "domain": format!("shop{n}.example.com"), "plan": "pro"})),
            )
            .await;
        assert_eq!(created.status(), 201);
        let body: serde_json::Value = created.json().await.unwrap();
        let project = TestProject {
            id: body["project"]["id"].as_str().unwrap().to_owned(),
            key: body["api_key"]["api_key"].as_str().unwrap().to_owned(),
            key_id: body["api_key"]["key_id"].as_str().unwrap().to_owned(),
        };
        if let Some(patch) = patch {
            let patched = self
                .admin(
                    reqwest::Method::PATCH,
                    &format!("/admin/projects/{}", project.id),
                    Some(patch),
                )
                .await;
            assert_eq!(
                patched.status(),
                200,
                "{}",
                patched.text().await.unwrap_or_default()
            );
        }
        project
    }

    /// A request to the public API as `project`.
    pub fn call(&self, method: reqwest::Method, path: &str, key: &str) -> reqwest::RequestBuilder {
        client()
            .request(method, format!("{}{path}", self.api_url))
            .header("x-api-key", key)
    }
}

/// The cross-project check every route reuses: project `other`, holding an id of `owner`'s,
/// gets 404 `not_found` and nothing of the owner's data, while the owner still gets `owner_status`.
pub async fn assert_isolated(
    stack: &TestStack,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
    owner: &TestProject,
    other: &TestProject,
    owner_status: u16,
) {
    let send = |key: &str| {
        let mut req = stack.call(method.clone(), path, key);
        if let Some(b) = &body {
            req = req.json(b);
        }
        req.send()
    };
    let foreign = send(&other.key).await.unwrap();
    let text = foreign.text().await.unwrap_or_default();
    let parsed: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    assert_eq!(
        parsed["status"], 404,
        "{method} {path} as another project: {text}"
    );
    assert_eq!(parsed["code"], "not_found", "{text}");
    assert!(
        !text.contains(&owner.id),
        "the 404 leaks the owner's id: {text}"
    );
    let own = send(&owner.key).await.unwrap();
    assert_eq!(
        own.status().as_u16(),
        owner_status,
        "{method} {path} as its owner"
    );
}
