//! The API contract (`openapi.json`, built from the Rust types by `mostrador::contract`) against
//! the code: every route of template.yaml has an operation and every operation a route; request
//! schemas refuse unknown fields as the strict reader does; the committed outputs are what the
//! code builds; and the health function serves them.

use mostrador_devstack::template::Template;
use mostrador_tests::{client, repo_root, shared};
use serde_json::Value;
use std::collections::BTreeSet;

const HTTP_METHODS: [&str; 5] = ["get", "put", "post", "patch", "delete"];

fn document() -> Value {
    let text = std::fs::read_to_string(repo_root().join("openapi.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// `GET /v1/project`, for every operation of the document.
fn documented_routes(doc: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in HTTP_METHODS {
            if item.get(method).is_some() {
                out.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    out
}

fn template_routes() -> BTreeSet<String> {
    let template = Template::load(&repo_root().join("template.yaml")).unwrap();
    template
        .functions
        .iter()
        .flat_map(|f| f.routes.iter())
        .map(|r| r.route_key.clone())
        .filter(|k| k != "$default")
        .collect()
}

/// The drift check over routes: what is undocumented, and what is documented but not routed.
pub fn route_drift(template: &BTreeSet<String>, documented: &BTreeSet<String>) -> Vec<String> {
    let mut problems = Vec::new();
    for missing in template.difference(documented) {
        problems.push(format!(
            "{missing}: in template.yaml but not in openapi.json"
        ));
    }
    for extra in documented.difference(template) {
        problems.push(format!(
            "{extra}: in openapi.json but not routed in template.yaml"
        ));
    }
    problems
}

#[test]
fn every_route_is_documented_and_every_operation_routed() {
    let problems = route_drift(&template_routes(), &documented_routes(&document()));
    assert!(
        problems.is_empty(),
        "openapi.json drifted from template.yaml (edit shared/src/contract/operations.rs, then `make openapi`):\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn drift_check_notices_a_new_route() {
    // The check itself, fed a template with one route more and a document with one less.
    let doc = document();
    let mut template = template_routes();
    let documented = documented_routes(&doc);
    template.insert("POST /v1/coupons".into());
    let problems = route_drift(&template, &documented);
    assert_eq!(
        problems,
        ["POST /v1/coupons: in template.yaml but not in openapi.json"]
    );
    let mut fewer = documented.clone();
    fewer.remove("GET /v1/project");
    let problems = route_drift(&template_routes(), &fewer);
    assert_eq!(
        problems,
        ["GET /v1/project: in template.yaml but not in openapi.json"]
    );
}

/// Request bodies are parsed strictly (`http::strict`): every object schema a request body
/// reaches refuses properties it does not declare, as the Rust types do.
#[test]
fn request_schemas_refuse_unknown_fields() {
    let doc = document();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut problems = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in HTTP_METHODS {
            let Some(op) = item.get(method) else { continue };
            let Some(name) = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                .as_str()
                .and_then(|r| r.rsplit('/').next())
            else {
                continue;
            };
            let members: Vec<&str> = match schemas[name]["oneOf"].as_array() {
                Some(list) => list
                    .iter()
                    .filter_map(|m| m["$ref"].as_str()?.rsplit('/').next())
                    .collect(),
                None => vec![name],
            };
            for m in members {
                if m != "Credentials" && schemas[m]["additionalProperties"] != Value::Bool(false) {
                    problems.push(format!(
                        "{} {path}: {m} accepts unknown fields",
                        method.to_uppercase()
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn examples_use_only_documented_fields() {
    let doc = document();
    let mut problems = Vec::new();
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        let (Some(example), Some(props)) = (
            schema.get("example").and_then(Value::as_object),
            schema["properties"].as_object(),
        ) else {
            continue;
        };
        for key in example.keys() {
            if !props.contains_key(key) {
                problems.push(format!("{name}: example field {key} is not a property"));
            }
        }
        for required in schema["required"].as_array().into_iter().flatten() {
            if !example.contains_key(required.as_str().unwrap()) {
                problems.push(format!("{name}: example lacks required {required}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn committed_outputs_are_what_the_code_builds() {
    let hint = "regenerate with `cargo run -p mostrador --example openapi` (make openapi)";
    let committed = std::fs::read_to_string(repo_root().join("openapi.json")).unwrap();
    assert!(
        committed == mostrador::contract::json_text(),
        "openapi.json is stale: {hint}"
    );
    let committed = std::fs::read_to_string(repo_root().join("docs/api.html")).unwrap();
    assert!(
        committed == mostrador::contract::html_text(),
        "docs/api.html is stale: {hint}"
    );
}

#[test]
fn every_operation_carries_the_contract_basics() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut problems = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in HTTP_METHODS {
            let Some(op) = item.get(method) else { continue };
            let id = format!("{} {path}", method.to_uppercase());
            let responses = op["responses"].as_object().unwrap();
            if !responses.contains_key("default") && path.starts_with("/v1/") {
                problems.push(format!("{id}: no default (problem+json) response"));
            }
            if path.starts_with("/v1/") {
                if op["security"] != serde_json::json!([{"ApiKey": []}]) {
                    problems.push(format!("{id}: not secured by ApiKey"));
                }
                if !responses.contains_key("401") || !responses.contains_key("429") {
                    problems.push(format!("{id}: 401 and 429 must be documented"));
                }
                let idem = op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|p| p["$ref"] == "#/components/parameters/IdempotencyKey");
                if idem != (method == "post") {
                    problems.push(format!(
                        "{id}: Idempotency-Key belongs on every POST, only there"
                    ));
                }
            }
            if path.starts_with("/admin/") && op["tags"][0] != "operator" {
                problems.push(format!("{id}: admin routes are tagged operator"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn openapi_json_and_docs_are_served() {
    let stack = shared();
    let response = client()
        .get(format!("{}/openapi.json", stack.api_url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let served: Value = response.json().await.unwrap();
    assert_eq!(served, document());

    let response = client()
        .get(format!("{}/docs", stack.api_url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    let page = response.text().await.unwrap();
    // Static and offline: no scripts, no external stylesheets or fonts.
    for banned in ["<script", "<link", "@import", "https://cdn", "//fonts."] {
        assert!(!page.contains(banned), "docs page contains {banned}");
    }
    for (path, item) in document()["paths"].as_object().unwrap() {
        for method in HTTP_METHODS {
            if let Some(op) = item.get(method) {
                let id = op["operationId"].as_str().unwrap();
                assert!(
                    page.contains(&format!("id=\"{id}\"")),
                    "{method} {path} not in /docs"
                );
            }
        }
    }
}

/// Schemathesis (pinned in scripts/bootstrap.sh, `.tools/pytools`) with every check, in every
/// phase (stateful included; tests/fuzz/schemathesis.toml says where a check is narrowed, and
/// why), over every operation of openapi.json — the operator routes too, with the local operator
/// token — as a real project,
/// against this binary's local stack (`FUZZ_MAX_EXAMPLES`, default 10; `scripts/fuzz.sh` runs it
/// alone). The project may hold no webhook endpoint (`max_webhook_endpoints: 0`), so creating
/// one is refused and nothing is ever delivered off the machine.
#[tokio::test]
async fn fuzz_with_schemathesis() {
    let stack = shared();
    let project = stack
        .project(Some(serde_json::json!({
            "email_from": "shop@example.com",
            "limit_overrides": {
                "requests_per_second": 100_000, "requests_per_minute": 1_000_000,
                "emails_per_month": 1_000_000, "whatsapp_per_month": 1_000_000,
                "payments_per_month": 1_000_000, "webhook_attempts_per_month": 1_000_000,
                "max_webhook_endpoints": 0
            }
        })))
        .await;
    let bin = repo_root().join(".tools/pytools/bin/schemathesis");
    assert!(
        bin.exists(),
        "run `make bootstrap` first ({} missing)",
        bin.display()
    );
    let max_examples = std::env::var("FUZZ_MAX_EXAMPLES").unwrap_or_else(|_| "10".into());
    let report = std::env::temp_dir().join(format!("mostrador-fuzz-{}", std::process::id()));
    // Run from a scratch directory: schemathesis and hypothesis leave caches in the cwd.
    std::fs::create_dir_all(&report).unwrap();
    // The checks' configuration, each narrowing with its reason, and the credentials per
    // security scheme (read from the environment).
    let config = repo_root().join("tests/fuzz/schemathesis.toml");
    let mut cmd = std::process::Command::new(bin);
    cmd.current_dir(&report)
        .env("FUZZ_API_KEY", &project.key)
        .env(
            "FUZZ_OPERATOR_AUTH",
            format!("Bearer {}", stack.operator_token),
        )
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(repo_root().join("openapi.json"))
        .args(["--url", &stack.api_url])
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        .args(["--max-examples", &max_examples])
        .args(["--seed", "1"])
        .args(["--report", "ndjson"])
        .arg("--report-ndjson-path")
        .arg(report.join("events.ndjson"))
        .arg("--no-color");
    // The stack runs on its own thread: blocking this one does not stall it.
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "schemathesis found problems (see above)"
    );
    // Every operation was exercised: count the requests and operations the report records.
    let events = std::fs::read_to_string(report.join("events.ndjson")).unwrap();
    let (requests, operations) = fuzz_coverage(&events);
    let documented = documented_routes(&document());
    println!(
        "schemathesis: {requests} requests over {} of {} operations",
        operations.intersection(&documented).count(),
        documented.len()
    );
    // Every phase ran and finished, the stateful one included.
    let phases = finished_phases(&events);
    for phase in ["examples", "coverage", "fuzzing", "stateful"] {
        assert!(
            phases.contains(phase),
            "phase {phase} did not run: {phases:?}"
        );
    }
    let missed: Vec<_> = documented.difference(&operations).collect();
    assert!(missed.is_empty(), "operations never fuzzed: {missed:?}");
    assert!(requests >= 5 * documented.len(), "only {requests} requests");
}

/// The test phases schemathesis's ndjson report records as enabled and finished.
fn finished_phases(ndjson: &str) -> std::collections::BTreeSet<String> {
    ndjson
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|event| {
            let phase = &event["PhaseFinished"]["phase"];
            (phase["is_enabled"] == true).then(|| phase["name"].as_str().map(str::to_owned))?
        })
        .collect()
}

/// (requests sent, operations that got at least one) from schemathesis's ndjson report.
fn fuzz_coverage(ndjson: &str) -> (usize, std::collections::BTreeSet<String>) {
    let mut requests = 0;
    let mut operations = std::collections::BTreeSet::new();
    for line in ndjson.lines() {
        let Ok(event) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let recorder = &event["ScenarioFinished"]["recorder"];
        let sent = recorder["interactions"].as_object().map_or(0, |i| i.len());
        if let (Some(label), true) = (recorder["label"].as_str(), sent > 0) {
            requests += sent;
            operations.insert(label.to_owned());
        }
    }
    (requests, operations)
}

/// A schemathesis finding: `from` after `to` reached DynamoDB as a reversed BETWEEN (500).
#[tokio::test]
async fn reversed_notification_time_window_is_a_422() {
    let stack = shared();
    let project = stack.project(None).await;
    let response = stack
        .call(
            reqwest::Method::GET,
            "/v1/notifications?from=2026-11-22T06:00:00Z&to=2020-01-01T00:00:00Z",
            &project.key,
        )
        .send()
        .await
        .unwrap();
    let body = mostrador_tests::expect_problem(response, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "to");
}
