//! `make bench` (issue 8): measures every function's release binary on this machine and writes
//! `docs/benchmarks.md`.
//!
//! 1. Cold start: process start -> first `GET /2018-06-01/runtime/invocation/next` on a local
//!    Lambda Runtime API stub (`stub.rs`), median of `BENCH_COLD_RUNS` (default 20) runs, beside
//!    the `hello` baseline.
//! 2. Binary size (release profile, stripped).
//! 3. Peak RSS (`VmHWM`) of each HTTP function after `BENCH_WARM` (default 1000) warm
//!    invocations fed through the stub, against DynamoDB Local + moto + the sandboxes of an
//!    ephemeral local stack.
//! 4. Warm CPU per request (utime+stime from `/proc/<pid>/stat`, over those invocations).
//! 5. AWS calls per hot route and their sequential depth, from the opt-in SDK interceptor
//!    (`MOSTRADOR_COUNT_AWS_CALLS=1`, `mostrador::aws_calls`).
//! 6. Cost per 1,000 orders from those counts and AWS list prices.

#![allow(clippy::print_stdout)]

mod baseline;
mod report;
mod stub;

use mostrador_devstack::{Stack, StackOptions};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use stub::{BoxError, Stub};

type Res<T> = Result<T, BoxError>;

/// Label suffix of a hot POST route measured without an `Idempotency-Key`.
pub const NO_KEY: &str = " — no Idempotency-Key";

/// One measured route: a function binary and the API Gateway event it is fed.
#[derive(Clone, Debug)]
pub struct Route {
    pub binary: String,
    pub label: String,
    /// Part of the hot set (CPU and AWS calls are reported for it).
    pub hot: bool,
    pub event: Value,
    /// SQS functions: the message bodies fed in turn (invocation n gets `bodies[n % len]`).
    pub bodies: Vec<String>,
    /// HTTP POSTs: send a fresh `Idempotency-Key` on every invocation (what the SDKs do).
    pub keyed: bool,
}

#[derive(Debug, Default)]
pub struct Warm {
    pub invocations: usize,
    pub statuses: BTreeMap<String, usize>,
    pub cpu_ms_per_req: f64,
    pub wall_ms_per_req: f64,
    pub vmhwm_kib: u64,
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Call {
    pub service: String,
    pub operation: String,
    pub start_us: u64,
    pub end_us: u64,
}

#[derive(Debug, Default)]
pub struct Calls {
    /// Calls of each sampled invocation.
    pub per_invocation: Vec<Vec<Call>>,
    pub statuses: BTreeMap<String, usize>,
    pub error: Option<String>,
}

impl Calls {
    pub fn mean_count(&self) -> f64 {
        if self.per_invocation.is_empty() {
            return 0.0;
        }
        let total: usize = self.per_invocation.iter().map(Vec::len).sum();
        total as f64 / self.per_invocation.len() as f64
    }

    /// The median depth over the samples: the route's structure. A single sample can read one
    /// deeper when two concurrent calls happen not to overlap on a loaded machine (see max).
    pub fn depth(&self) -> usize {
        let mut depths: Vec<usize> = self.per_invocation.iter().map(|c| depth(c)).collect();
        depths.sort_unstable();
        depths.get(depths.len() / 2).copied().unwrap_or(0)
    }

    pub fn max_depth(&self) -> usize {
        self.per_invocation
            .iter()
            .map(|c| depth(c))
            .max()
            .unwrap_or(0)
    }

    /// Operations of the last sampled invocation, in start order.
    pub fn sequence(&self) -> String {
        let Some(last) = self.per_invocation.last() else {
            return String::new();
        };
        let mut calls = last.clone();
        calls.sort_by_key(|c| c.start_us);
        calls
            .iter()
            .map(|c| format!("{}.{}", c.service, c.operation))
            .collect::<Vec<_>>()
            .join(" → ")
    }
}

/// The longest chain of calls where each starts after the previous one ended.
pub fn depth(calls: &[Call]) -> usize {
    let mut sorted = calls.to_vec();
    sorted.sort_by_key(|c| c.end_us);
    let mut chain = vec![0usize; sorted.len()];
    for i in 0..sorted.len() {
        let best = (0..i)
            .filter(|&j| sorted[j].end_us <= sorted[i].start_us)
            .map(|j| chain[j])
            .max()
            .unwrap_or(0);
        chain[i] = best + 1;
    }
    chain.into_iter().max().unwrap_or(0)
}

pub struct Results {
    pub functions: Vec<String>,
    pub sizes: BTreeMap<String, u64>,
    pub cold_ms: BTreeMap<String, Result<f64, String>>,
    pub cold_runs: usize,
    pub warm_n: usize,
    pub routes: Vec<Route>,
    pub warm: BTreeMap<String, Warm>,
    pub calls: BTreeMap<String, Calls>,
    pub first: Vec<FirstCall>,
    /// `MemorySize` of each function's binary in `template.yaml` (the Globals value if unset).
    pub memory_mb: BTreeMap<String, u64>,
}

impl Results {
    pub fn memory_of(&self, binary: &str) -> u64 {
        self.memory_mb.get(binary).copied().unwrap_or(128)
    }
}

/// Each function's `MemorySize` from `template.yaml` (a line scan: a resource's `Binary:` and
/// `MemorySize:`, falling back to `Globals.Function.MemorySize`).
fn memory_sizes(root: &Path) -> BTreeMap<String, u64> {
    let text = std::fs::read_to_string(root.join("template.yaml")).unwrap_or_default();
    let (mut global, mut out) = (128, BTreeMap::new());
    let (mut binary, mut memory): (Option<String>, Option<u64>) = (None, None);
    let mut flush = |binary: &mut Option<String>, memory: &mut Option<u64>, global: u64| {
        if let Some(b) = binary.take() {
            out.insert(b, memory.unwrap_or(global));
        }
        *memory = None;
    };
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim();
        if indent == 2 && trimmed.ends_with(':') {
            flush(&mut binary, &mut memory, global);
        }
        if let Some(v) = trimmed.strip_prefix("Binary:") {
            binary = Some(v.trim().to_owned());
        }
        if let Some(v) = trimmed.strip_prefix("MemorySize:") {
            match v.trim().parse::<u64>() {
                Ok(mb) if indent == 4 => global = mb,
                Ok(mb) => memory = Some(mb),
                Err(_) => {}
            }
        }
    }
    flush(&mut binary, &mut memory, global);
    out
}

/// A binary of the release directory; `hello` may come from `BENCH_HELLO` (a path).
fn bin_path(release: &Path, name: &str) -> PathBuf {
    match std::env::var("BENCH_HELLO") {
        Ok(path) if name == "hello" => PathBuf::from(path),
        _ => release.join(name),
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn function_names(root: &Path) -> Res<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(root.join("functions"))? {
        let path = entry?.path();
        if path.join("Cargo.toml").is_file() {
            if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                names.push(name.to_owned());
            }
        }
    }
    names.sort();
    Ok(names)
}

/// The environment Lambda would give the function, plus emulator endpoints.
fn process_env(
    stack: &Stack,
    binary: &str,
    runtime_api: &str,
    count_calls: bool,
) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = stack.env.get(binary).cloned().unwrap_or_default();
    for (k, v) in [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_owned()),
        ("AWS_LAMBDA_FUNCTION_NAME", binary.to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "1".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "local".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "local".to_owned()),
        ("AWS_ENDPOINT_URL", stack.moto_endpoint.clone()),
        ("AWS_ENDPOINT_URL_DYNAMODB", stack.dynamodb_endpoint.clone()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ] {
        env.insert(k.to_owned(), v);
    }
    if count_calls {
        env.insert(mostrador::aws_calls::ENV_VAR.to_owned(), "1".to_owned());
    }
    env
}

fn spawn(bin: &Path, env: &BTreeMap<String, String>, piped: bool) -> Res<Child> {
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .envs(env)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .stdout(if piped { Stdio::piped() } else { Stdio::null() });
    Ok(cmd.spawn()?)
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

async fn cold_start(bin: &Path, env: BTreeMap<String, String>, runs: usize) -> Res<f64> {
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let mut stub = Stub::start().await?;
        let mut env = env.clone();
        env.insert("AWS_LAMBDA_RUNTIME_API".into(), stub.addr.clone());
        let first = stub.first_next.take().ok_or("stub already used")?;
        let t0 = Instant::now();
        let child = spawn(bin, &env, false)?;
        let got = tokio::time::timeout(Duration::from_secs(10), first).await;
        stop(child);
        match got {
            Ok(Ok(t)) => samples.push(t.duration_since(t0).as_secs_f64() * 1000.0),
            _ => return Err("no /next within 10 s (init failed?)".into()),
        }
    }
    Ok(median(samples))
}

fn proc_cpu_ticks(pid: u32) -> Res<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = stat.rsplit_once(')').map(|(_, a)| a).ok_or("bad stat")?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 (utime) and 15 (stime); `after` starts at field 3.
    let utime: u64 = fields.get(11).ok_or("no utime")?.parse()?;
    let stime: u64 = fields.get(12).ok_or("no stime")?.parse()?;
    Ok(utime + stime)
}

fn vmhwm_kib(pid: u32) -> Res<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .ok_or("no VmHWM")?;
    Ok(line.split_whitespace().nth(1).ok_or("bad VmHWM")?.parse()?)
}

fn clk_tck() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// The event for invocation `n` (fresh request id and idempotency-relevant fields).
fn event_for(route: &Route, n: usize) -> Vec<u8> {
    let mut event = route.event.clone();
    if let Some(records) = event.get_mut("Records").and_then(Value::as_array_mut) {
        // An SQS batch of one realistic message (what a batch size of 1 delivers).
        records.truncate(1);
        if let (Some(record), false) = (records.first_mut(), route.bodies.is_empty()) {
            record["messageId"] = json!(format!("bench-{n}"));
            record["body"] = json!(route.bodies[n % route.bodies.len()]);
        }
        return serde_json::to_vec(&event).unwrap_or_default();
    }
    if event.get("requestContext").is_some() {
        event["requestContext"]["requestId"] = json!(format!("bench-{n}"));
    }
    if route.keyed {
        // Keys are per project: one namespace per route, or a key reused across routes would
        // (rightly) answer 409 `idempotency_key_reused`.
        let key = format!("bench-{}-{}-{n}", std::process::id(), route.binary);
        event["headers"]["idempotency-key"] = json!(key);
    }
    if let Some(body) = event.get("body").and_then(Value::as_str) {
        let body = body.replace("{n}", &n.to_string());
        event["body"] = json!(body);
    }
    serde_json::to_vec(&event).unwrap_or_default()
}

fn status_of(outcome: &stub::Outcome) -> String {
    if outcome.error {
        return "invocation error".into();
    }
    let Ok(v) = serde_json::from_slice::<Value>(&outcome.body) else {
        return "no status".into();
    };
    if let Some(status) = v.get("statusCode").and_then(Value::as_u64) {
        return status.to_string();
    }
    match v.get("batchItemFailures").and_then(Value::as_array) {
        Some(failed) if failed.is_empty() => "batch ok".into(),
        Some(_) => "batch item failed".into(),
        None => "ok".into(),
    }
}

async fn start_process(
    stack: &Stack,
    bin: &Path,
    binary: &str,
    count_calls: bool,
) -> Res<(Stub, Child)> {
    let mut stub = Stub::start().await?;
    let env = process_env(stack, binary, &stub.addr, count_calls);
    let first = stub.first_next.take().ok_or("stub already used")?;
    let child = spawn(bin, &env, count_calls)?;
    if tokio::time::timeout(Duration::from_secs(10), first)
        .await
        .is_err()
    {
        stop(child);
        return Err("no /next within 10 s".into());
    }
    Ok((stub, child))
}

/// Lazy vs warmed DynamoDB client: init (process start → first `/next`) and the first
/// invocation after it, medians over `runs` fresh processes.
#[derive(Debug, Clone)]
pub struct FirstCall {
    pub label: String,
    pub init_ms: f64,
    pub first_ms: f64,
    pub second_ms: f64,
    pub status: String,
}

async fn first_call(
    stack: &Stack,
    bin: &Path,
    route: &Route,
    prewarm: bool,
    runs: usize,
) -> Res<FirstCall> {
    let (mut init, mut first, mut second) = (Vec::new(), Vec::new(), Vec::new());
    let mut status = String::new();
    for i in 0..runs {
        let mut stub = Stub::start().await?;
        let mut env = process_env(stack, &route.binary, &stub.addr, false);
        if prewarm {
            env.insert(mostrador::runtime::PREWARM_ENV.into(), "dynamodb".into());
        }
        let ready = stub.first_next.take().ok_or("stub already used")?;
        let t0 = Instant::now();
        let child = spawn(bin, &env, false)?;
        let result = async {
            let at = tokio::time::timeout(Duration::from_secs(10), ready).await??;
            init.push(at.duration_since(t0).as_secs_f64() * 1000.0);
            for (n, samples) in [(0, &mut first), (1, &mut second)] {
                let t = Instant::now();
                let outcome = stub
                    .invoke(
                        event_for(route, 900_000 + i * 2 + n),
                        Duration::from_secs(30),
                    )
                    .await?;
                samples.push(t.elapsed().as_secs_f64() * 1000.0);
                status = status_of(&outcome);
            }
            Ok::<_, BoxError>(())
        }
        .await;
        stop(child);
        result?;
    }
    Ok(FirstCall {
        label: format!(
            "{} ({})",
            route.label,
            if prewarm {
                "warmed: DynamoDB client built and connected during init"
            } else {
                "lazy: built on first use"
            }
        ),
        init_ms: median(init),
        first_ms: median(first),
        second_ms: median(second),
        status,
    })
}

async fn warm(stack: &Stack, bin: &Path, route: &Route, n: usize, tck: f64) -> Res<Warm> {
    let (mut stub, child) = start_process(stack, bin, &route.binary, false).await?;
    let pid = child.id();
    let result = async {
        let mut w = Warm::default();
        for i in 0..20 {
            stub.invoke(event_for(route, i), Duration::from_secs(30))
                .await?;
        }
        let before = proc_cpu_ticks(pid)?;
        let t0 = Instant::now();
        let budget = Duration::from_secs(env_usize("BENCH_ROUTE_SECS", 75) as u64);
        let mut n_done = 0;
        for i in 0..n {
            if t0.elapsed() > budget {
                break;
            }
            n_done += 1;
            let outcome = stub
                .invoke(event_for(route, 1000 + i), Duration::from_secs(30))
                .await?;
            *w.statuses.entry(status_of(&outcome)).or_default() += 1;
        }
        let wall = t0.elapsed();
        let after = proc_cpu_ticks(pid)?;
        let n = n_done.max(1);
        w.invocations = n_done;
        w.cpu_ms_per_req = (after - before) as f64 / tck * 1000.0 / n as f64;
        w.wall_ms_per_req = wall.as_secs_f64() * 1000.0 / n as f64;
        w.vmhwm_kib = vmhwm_kib(pid)?;
        Ok::<_, BoxError>(w)
    }
    .await;
    stop(child);
    result
}

async fn calls(stack: &Stack, bin: &Path, route: &Route, samples: usize) -> Res<Calls> {
    let (mut stub, mut child) = start_process(stack, bin, &route.binary, true).await?;
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    if let Some(stdout) = child.stdout.take() {
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if line.contains("mostrador::aws_calls") && tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    let result = async {
        let mut c = Calls::default();
        // Warm-up invocations fill the container caches (API key, credentials) first.
        for i in 0..samples + 3 {
            let outcome = stub
                .invoke(event_for(route, 500_000 + i), Duration::from_secs(30))
                .await?;
            tokio::time::sleep(Duration::from_millis(30)).await;
            let lines: Vec<String> = rx.try_iter().collect();
            if i < 3 {
                continue;
            }
            *c.statuses.entry(status_of(&outcome)).or_default() += 1;
            let calls = lines
                .iter()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .map(|v| Call {
                    service: v["aws_service"].as_str().unwrap_or_default().to_owned(),
                    operation: v["aws_operation"].as_str().unwrap_or_default().to_owned(),
                    start_us: v["start_us"].as_u64().unwrap_or_default(),
                    end_us: v["end_us"].as_u64().unwrap_or_default(),
                })
                .collect();
            c.per_invocation.push(calls);
        }
        Ok::<_, BoxError>(c)
    }
    .await;
    stop(child);
    result
}

fn base_event(root: &Path) -> Res<Value> {
    let text = std::fs::read_to_string(root.join("events/webhooks/post-event-no-key.json"))?;
    Ok(serde_json::from_str(&text)?)
}

fn api_event(
    base: &Value,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> Value {
    let mut e = base.clone();
    let route_key = format!("{method} {path}");
    e["routeKey"] = json!(route_key);
    e["rawPath"] = json!(path);
    e["requestContext"]["routeKey"] = json!(route_key);
    e["requestContext"]["http"]["method"] = json!(method);
    e["requestContext"]["http"]["path"] = json!(path);
    if let Some(key) = key {
        e["headers"]["x-api-key"] = json!(key);
    }
    match body {
        Some(b) => e["body"] = json!(b.to_string()),
        None => {
            if let Some(o) = e.as_object_mut() {
                o.remove("body");
            }
        }
    }
    e
}

fn fixture(root: &Path, binary: &str, file: &str) -> Res<Value> {
    let text = std::fs::read_to_string(root.join("events").join(binary).join(file))?;
    Ok(serde_json::from_str(&text)?)
}

/// Creates the benchmark project: API key, e-mail identity + template, Mercado Pago
/// credentials, two webhook endpoints. Each step is best effort (reported, not fatal).
async fn setup(stack: &Stack) -> Res<(String, String, Vec<String>)> {
    use mostrador::admin::{self, NewProject};
    let mut notes = Vec::new();
    let state = stack.operator_state();
    let (project, key) = admin::create_project(
        state,
        NewProject {
            name: "Bench shop".into(),
            domain: "bench.shop.test".into(),
            plan: Some("pro".into()),
            contact_email: None,
            email_from: Some("Bench <no-reply@bench.shop.test>".into()),
        },
    )
    .await
    .map_err(|e| format!("creating the project: {e}"))?;
    let project_id = project.id.to_string();
    let key = key.api_key;
    let http = reqwest::Client::new();
    fn check(notes: &mut Vec<String>, what: &str, r: Result<reqwest::Response, reqwest::Error>) {
        match r {
            Ok(r) if r.status().is_success() => {}
            Ok(r) => notes.push(format!("{what}: HTTP {}", r.status())),
            Err(e) => notes.push(format!("{what}: {e}")),
        }
    }
    // Limits far above what the benchmark sends: the warm runs measure accepted requests, not
    // 429s (the rate-limit update still runs on every request).
    let r = http
        .patch(format!("{}/admin/projects/{project_id}", stack.api_url))
        .bearer_auth(stack.operator_token())
        .json(&json!({"limit_overrides": {"requests_per_second": 100000, "requests_per_minute": 1000000}}))
        .send()
        .await;
    check(&mut notes, "limit overrides", r);
    let r = http
        .post(format!(
            "{}/_local/mail/identities/bench.shop.test",
            stack.api_url
        ))
        .send()
        .await;
    check(&mut notes, "SES identity", r);
    let r = http
        .put(format!("{}/v1/templates/welcome", stack.api_url))
        .header("x-api-key", &key)
        .json(&json!({"kind": "email", "subject": "Hola {{ name }}",
            "html": "<p>Hola {{ name }}</p>", "text": "Hola {{ name }}"}))
        .send()
        .await;
    check(&mut notes, "template", r);
    let collector = 700_000 + std::process::id() % 10_000;
    let token = format!("TEST-1234-010203-abcdef-{collector}");
    let mut values = serde_json::Map::new();
    values.insert("access_token".into(), json!(token));
    values.insert("webhook_secret".into(), json!("bench-secret"));
    if let Err(e) = admin::put_credentials(state, &project.id, "mercadopago", &values).await {
        notes.push(format!("MP credentials: {e}"));
    }
    let r = http
        .put(format!(
            "{}/_sandbox/collectors/{collector}",
            stack.mercadopago.base_url
        ))
        .json(&json!({"webhook_secret": "bench-secret"}))
        .send()
        .await;
    check(&mut notes, "MP sandbox collector", r);
    for i in 0..2 {
        let r = http
            .post(format!("{}/v1/webhook-endpoints", stack.api_url))
            .header("x-api-key", &key)
            .json(
                &json!({"url": format!("{}/hooks/bench-{i}", stack.receiver.base_url),
                "filter_types": ["order.created", "order.paid"], "description": "bench"}),
            )
            .send()
            .await;
        check(&mut notes, "webhook endpoint", r);
    }
    Ok((project_id, key, notes))
}

fn routes(root: &Path, key: &str, project_id: &str, pools: &Pools) -> Res<Vec<Route>> {
    let base = base_event(root)?;
    let route = |binary: &str, label: &str, hot: bool, event: Value| Route {
        binary: binary.into(),
        keyed: hot
            && event["requestContext"]["http"]["method"] == "POST"
            && event["rawPath"]
                .as_str()
                .is_some_and(|p| p.starts_with("/v1/")),
        label: label.into(),
        hot,
        event,
        bodies: Vec::new(),
    };
    let mut routes = vec![
        route(
            "project",
            "GET /v1/project",
            true,
            api_event(&base, "GET", "/v1/project", Some(key), None),
        ),
        route(
            "webhooks",
            "POST /v1/events (order.created, 2 endpoints)",
            true,
            api_event(
                &base,
                "POST",
                "/v1/events",
                Some(key),
                Some(
                    json!({"type": "order.created", "data": {"order_id": "B-{n}", "total": 1990}}),
                ),
            ),
        ),
        route(
            "notifications",
            "POST /v1/notifications (e-mail, template)",
            true,
            api_event(
                &base,
                "POST",
                "/v1/notifications",
                Some(key),
                Some(
                    json!({"channel": "email", "to": "buyer+{n}@example.com", "template": "welcome", "variables": {"name": "Ana"}}),
                ),
            ),
        ),
        route(
            "payments",
            "POST /v1/payments (checkout)",
            true,
            api_event(
                &base,
                "POST",
                "/v1/payments",
                Some(key),
                Some(
                    json!({"order_id": "B-{n}", "amount": 1990, "currency": "ARS", "mode": "checkout",
                "items": [{"title": "Mate", "quantity": 1, "unit_amount": 1990}], "payer": {"email": "buyer@example.com"}}),
                ),
            ),
        ),
        route(
            "health",
            "GET /health",
            false,
            fixture(root, "health", "get-health.json")?,
        ),
        route(
            "admin",
            "GET /admin/projects",
            false,
            api_event(&base, "GET", "/admin/projects", None, None),
        ),
    ];
    if let Ok(mut e) = fixture(root, "mp-intake", "ipn-unknown-project.json") {
        // The fixture's project does not exist; point it at the bench project (the signature
        // still does not match: this measures the intake's reject path, see the report).
        let text = e.to_string().replace(
            e["pathParameters"]["project_id"]
                .as_str()
                .unwrap_or("\u{0}"),
            project_id,
        );
        e = serde_json::from_str(&text).unwrap_or(e);
        routes.push(route("mp-intake", "POST MP notification (intake)", true, e));
    }
    if let Ok(e) = fixture(
        root,
        "provider-feedback",
        "post-status-unknown-project.json",
    ) {
        routes.push(route(
            "provider-feedback",
            "POST provider status (unknown project)",
            false,
            e,
        ));
    }
    let sqs = |binary: &str, label: &str, fixture_file: &str, bodies: &[String]| {
        fixture(root, binary, fixture_file).map(|event| Route {
            binary: binary.into(),
            label: label.into(),
            hot: false,
            event,
            bodies: bodies.to_vec(),
            keyed: false,
        })
    };
    routes.extend(
        [
            sqs(
                "sender",
                "SQS: send one e-mail (render + SES)",
                "notification-message.json",
                &pools.notifications,
            ),
            sqs(
                "dispatcher",
                "SQS: one webhook delivery message (already delivered by the stack: skip path)",
                "deliveries-batch.json",
                &pools.deliveries,
            ),
            sqs(
                "payment-sync",
                "SQS: reconcile one payment (Mercado Pago GET + state write)",
                "payments-batch.json",
                &pools.payments,
            ),
            fixture(root, "reconciler", "scheduled.json")
                .map(|e| route("reconciler", "schedule: reconciler tick", false, e)),
            fixture(root, "retry-sweeper", "scheduled.json")
                .map(|e| route("retry-sweeper", "schedule: retry-sweeper tick", false, e)),
        ]
        .into_iter()
        .filter_map(Result::ok),
    );
    Ok(routes)
}

/// Records the SQS functions are fed: each message names a real item of the bench project.
#[derive(Debug, Default)]
struct Pools {
    notifications: Vec<String>,
    deliveries: Vec<String>,
    payments: Vec<String>,
}

/// Pending e-mail notifications stored without being queued (so the benchmark's sender, not the
/// stack's, sends them), webhook deliveries and checkout payments of the bench project.
async fn pools(stack: &Stack, key: &str, project_id: &str, n: usize) -> Pools {
    use mostrador::notifications::model::{
        Channel, HistoryEntry, Notification, Status, TemplateRef,
    };
    let mut pools = Pools::default();
    let (Some(state), Ok(project)) = (stack.state("notifications"), project_id.parse()) else {
        return pools;
    };
    let at = mostrador::clock::rfc3339(state.clock.now());
    for _ in 0..n {
        let notification = Notification {
            id: mostrador::ids::NotificationId::new(),
            project_id: project,
            channel: Channel::Email,
            mode: None,
            recipient: "buyer@example.com".into(),
            template: TemplateRef {
                name: "welcome".into(),
                version: 1,
            },
            variables_json: r#"{"name":"Ana"}"#.into(),
            metadata_json: None,
            status: Status::Pending,
            reason: None,
            provider_message_id: None,
            link: None,
            attempts: 0,
            history: vec![HistoryEntry {
                status: Status::Pending,
                at: at.clone(),
                reason: None,
            }],
            created_at: at.clone(),
            updated_at: at.clone(),
            expires_at: None,
        };
        if mostrador::notifications::store::create(state, &notification, 30)
            .await
            .is_ok()
        {
            pools.notifications.push(
                json!({"v": 1, "project_id": project_id, "notification_id": notification.id})
                    .to_string(),
            );
        }
    }
    let http = reqwest::Client::new();
    for i in 0..20 {
        let sent = http
            .post(format!("{}/v1/events", stack.api_url))
            .header("x-api-key", key)
            .json(&json!({"type": "order.created", "data": {"order_id": format!("P-{i}")}}))
            .send()
            .await;
        let Ok(r) = sent else { continue };
        let body: Value = r.json().await.unwrap_or_default();
        if let Some(id) = body["id"].as_str() {
            let event = http
                .get(format!("{}/v1/events/{id}", stack.api_url))
                .header("x-api-key", key)
                .send()
                .await;
            let Ok(event) = event else { continue };
            let event: Value = event.json().await.unwrap_or_default();
            for d in event["deliveries"].as_array().into_iter().flatten() {
                if let Some(d) = d["id"].as_str() {
                    pools
                        .deliveries
                        .push(json!({"v": 1, "p": project_id, "d": d}).to_string());
                }
            }
        }
        let paid = http
            .post(format!("{}/v1/payments", stack.api_url))
            .header("x-api-key", key)
            .json(&json!({"order_id": format!("P-{i}"), "amount": 1990, "currency": "ARS", "mode": "checkout",
                "items": [{"title": "Mate", "quantity": 1, "unit_amount": 1990}], "payer": {"email": "buyer@example.com"}}))
            .send()
            .await;
        let Ok(r) = paid else { continue };
        let body: Value = r.json().await.unwrap_or_default();
        if let Some(id) = body["id"].as_str() {
            pools.payments.push(
                json!({"v": 1, "project_id": project_id, "kind": "reconcile", "payment_id": id})
                    .to_string(),
            );
        }
    }
    pools
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let root = root().canonicalize()?;
    let release = std::env::var("BENCH_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target/release"));
    let cold_runs = env_usize("BENCH_COLD_RUNS", 20);
    let warm_n = env_usize("BENCH_WARM", 1000);
    let samples = env_usize("BENCH_CALL_SAMPLES", 10);
    let functions = function_names(&root)?;
    let tck = clk_tck();

    let mut sizes = BTreeMap::new();
    for name in functions.iter().map(String::as_str).chain(["hello"]) {
        match std::fs::metadata(bin_path(&release, name)) {
            Ok(m) => {
                sizes.insert(name.to_owned(), m.len());
            }
            Err(e) => println!("{name}: not built ({e}); skipped"),
        }
    }

    println!("starting the local stack (DynamoDB Local + moto + sandboxes)…");
    let stack = Stack::start(StackOptions::ephemeral(root.clone())).await?;
    let (project_id, key, notes) = setup(&stack).await?;
    for n in &notes {
        println!("setup: {n}");
    }

    let mut cold_ms = BTreeMap::new();
    let skip_cold = std::env::var("BENCH_SKIP_COLD").is_ok();
    for name in functions.iter().map(String::as_str).chain(["hello"]) {
        if !sizes.contains_key(name) || skip_cold {
            continue;
        }
        let env = if name == "hello" {
            process_env(&stack, "none", "", false)
        } else {
            process_env(&stack, name, "", false)
        };
        let r = cold_start(&bin_path(&release, name), env, cold_runs)
            .await
            .map_err(|e| e.to_string());
        println!("cold start {name}: {r:?} ms");
        cold_ms.insert(name.to_owned(), r);
    }

    let pools = pools(&stack, &key, &project_id, warm_n + 40).await;
    println!(
        "pools: {} notifications, {} deliveries, {} payments",
        pools.notifications.len(),
        pools.deliveries.len(),
        pools.payments.len()
    );
    let routes = routes(&root, &key, &project_id, &pools)?;
    let mut warm_results = BTreeMap::new();
    let mut call_results = BTreeMap::new();
    // `BENCH_ONLY=a,b`: warm runs and call counts of these binaries only (re-measuring a few).
    let only: Vec<String> = std::env::var("BENCH_ONLY")
        .map(|v| v.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    for route in &routes {
        let bin = release.join(&route.binary);
        if !bin.is_file() || !(only.is_empty() || only.contains(&route.binary)) {
            continue;
        }
        if warm_n > 0 {
            let w = match warm(&stack, &bin, route, warm_n, tck).await {
                Ok(w) => w,
                Err(e) => Warm {
                    error: Some(e.to_string()),
                    ..Default::default()
                },
            };
            println!(
                "warm {} ({} invocations): {:.3} ms CPU/req, {:.2} ms wall/req, VmHWM {} KiB, {:?}",
                route.label,
                w.invocations,
                w.cpu_ms_per_req,
                w.wall_ms_per_req,
                w.vmhwm_kib,
                w.statuses
            );
            warm_results.insert(route.label.clone(), w);
        }
        if route.hot {
            let c = match calls(&stack, &bin, route, samples).await {
                Ok(c) => c,
                Err(e) => Calls {
                    error: Some(e.to_string()),
                    ..Default::default()
                },
            };
            println!(
                "calls {}: {:.1} per request, depth {}: {}",
                route.label,
                c.mean_count(),
                c.depth(),
                c.sequence()
            );
            call_results.insert(route.label.clone(), c);
            if route.keyed {
                // The same route without a key: what a client that sends none pays.
                let plain = Route {
                    keyed: false,
                    ..route.clone()
                };
                let c = calls(&stack, &bin, &plain, samples)
                    .await
                    .unwrap_or_else(|e| Calls {
                        error: Some(e.to_string()),
                        ..Default::default()
                    });
                println!(
                    "calls {}{NO_KEY}: {:.1} per request, depth {}: {}",
                    route.label,
                    c.mean_count(),
                    c.depth(),
                    c.sequence()
                );
                call_results.insert(format!("{}{NO_KEY}", route.label), c);
            }
        }
    }
    let mut first = Vec::new();
    let first_runs = env_usize("BENCH_FIRST_RUNS", 7);
    let project_route = routes.iter().find(|r| r.label == "GET /v1/project");
    if let Some(route) = project_route.filter(|_| first_runs > 0) {
        let bin = release.join(&route.binary);
        for prewarm in [false, true] {
            match first_call(
                &stack,
                &bin,
                route,
                prewarm,
                env_usize("BENCH_FIRST_RUNS", 7),
            )
            .await
            {
                Ok(f) => {
                    println!(
                        "first call {}: init {:.2} ms, first {:.2} ms, second {:.2} ms",
                        f.label, f.init_ms, f.first_ms, f.second_ms
                    );
                    first.push(f);
                }
                Err(e) => println!("first call (prewarm {prewarm}): {e}"),
            }
        }
    }
    stack.shutdown().await;

    let results = Results {
        functions,
        sizes,
        cold_ms,
        cold_runs,
        warm_n,
        routes,
        warm: warm_results,
        calls: call_results,
        first,
        memory_mb: memory_sizes(&root),
    };
    if let Ok(label) = std::env::var("BENCH_SAVE_BASELINE") {
        baseline::save(&root, &baseline::summary(&results, &label))?;
        println!("saved infra/bench/baseline.json ({label})");
    }
    let before = baseline::load(&root);
    let text = report::render(&results, &notes, before.as_ref());
    let out = root.join("docs/benchmarks.md");
    std::fs::write(&out, text)?;
    println!("wrote {}", out.display());
    Ok(())
}
