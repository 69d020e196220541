#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The scripted webhook receiver: byte-exact recording, FIFO scripts, control API.

use std::time::{Duration, Instant};

use mostrador_sandboxes::receiver::{self, Handle, RecordedRequest, ScriptedResponse};
use serde_json::{json, Value};
use tokio::net::TcpListener;

const WAIT: Duration = Duration::from_secs(5);

async fn start() -> Handle {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    receiver::start(listener).await
}

/// No proxy, no redirects: what a webhook sender should use.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(WAIT)
        .build()
        .unwrap()
}

#[tokio::test]
async fn records_raw_body_headers_and_query_exactly() {
    let rx = start().await;
    // Not valid UTF-8, with a NUL and a CRLF: must come back byte for byte.
    let body: Vec<u8> = vec![b'{', 0xff, 0x00, b'\r', b'\n', 0xc3, 0x28, b'}', b' '];
    let response = client()
        .post(rx.url("/hooks/a?x=1&y=%20z"))
        .header("webhook-id", "msg_1")
        .header("X-Custom", "first")
        .header("x-custom", "second")
        .header("content-type", "application/octet-stream")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer, json!({ "ok": true }));

    let recorded = rx.requests("/hooks/a");
    assert_eq!(recorded.len(), 1);
    let r = &recorded[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/hooks/a");
    assert_eq!(r.query.as_deref(), Some("x=1&y=%20z"));
    assert_eq!(r.body_bytes(), body);
    assert_eq!(r.body_text, String::from_utf8_lossy(&body));
    assert_eq!(r.header("Webhook-Id"), Some("msg_1"));
    let customs: Vec<&str> = r
        .headers
        .iter()
        .filter(|(n, _)| n == "x-custom")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(customs, ["first", "second"]);
    assert!(r.received_at.ends_with('Z'), "{}", r.received_at);

    // The HTTP control API returns the same record.
    let over_http: Vec<RecordedRequest> = client()
        .get(rx.url("/_receiver/requests?path=/hooks/a"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(over_http, recorded);
    assert!(rx.requests("/hooks/b").is_empty());
}

#[tokio::test]
async fn script_is_a_fifo_per_path_then_defaults_to_ok() {
    let rx = start().await;
    let queued = rx.script(
        "/hooks/a",
        vec![
            ScriptedResponse::retry_after(429, 7),
            ScriptedResponse::status(503).body("busy"),
            ScriptedResponse::status(410).json(json!({ "gone": true })),
        ],
    );
    assert_eq!(queued, 3);
    let http = client();
    let post = || http.post(rx.url("/hooks/a")).body("{}").send();

    let first = post().await.unwrap();
    assert_eq!(first.status(), 429);
    assert_eq!(first.headers()["retry-after"], "7");
    let second = post().await.unwrap();
    assert_eq!(second.status(), 503);
    assert_eq!(second.text().await.unwrap(), "busy");
    // Another path is unaffected by /hooks/a's script.
    let other = http.post(rx.url("/hooks/b")).send().await.unwrap();
    assert_eq!(other.status(), 200);
    let third = post().await.unwrap();
    assert_eq!(third.status(), 410);
    assert_eq!(third.headers()["content-type"], "application/json");
    assert_eq!(
        third.json::<Value>().await.unwrap(),
        json!({ "gone": true })
    );
    let fourth = post().await.unwrap();
    assert_eq!(fourth.status(), 200);
    assert_eq!(fourth.json::<Value>().await.unwrap(), json!({ "ok": true }));

    assert_eq!(rx.requests("/hooks/a").len(), 4);
    let seqs: Vec<u64> = rx.all_requests().iter().map(|r| r.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn redirects_carry_location_and_are_recorded_on_both_ends() {
    let rx = start().await;
    let target = rx.url("/hooks/moved");
    rx.script("/hooks/old", vec![ScriptedResponse::redirect(308, &target)]);
    let response = client()
        .post(rx.url("/hooks/old"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 308);
    assert_eq!(response.headers()["location"], target.as_str());
    assert!(
        rx.requests("/hooks/moved").is_empty(),
        "a non-following client stops at 3xx"
    );

    // A client that follows redirects reaches the new location with the same body (308).
    rx.script("/hooks/old", vec![ScriptedResponse::redirect(308, &target)]);
    let following = reqwest::Client::builder()
        .no_proxy()
        .timeout(WAIT)
        .build()
        .unwrap();
    let response = following
        .post(rx.url("/hooks/old"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let moved = rx.requests("/hooks/moved");
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].body_bytes(), b"x");
}

#[tokio::test]
async fn delays_are_slept_after_recording() {
    let rx = start().await;
    rx.script(
        "/hooks/slow",
        vec![
            ScriptedResponse::status(200).delay(Duration::from_millis(150)),
            ScriptedResponse::status(200).delay(Duration::from_secs(3)),
        ],
    );
    let started = Instant::now();
    let response = client().post(rx.url("/hooks/slow")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(150));

    // A sender with a short timeout gives up, yet the request was recorded.
    let impatient = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let error = impatient
        .post(rx.url("/hooks/slow"))
        .body("late")
        .send()
        .await
        .unwrap_err();
    assert!(error.is_timeout(), "{error}");
    let seen = rx.wait_for("/hooks/slow", 2, WAIT).await;
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].body_bytes(), b"late");
}

#[tokio::test]
async fn control_api_scripts_counts_waits_and_clears() {
    let rx = start().await;
    let http = client();
    let pushed: Value = http
        .post(rx.url("/_receiver/script"))
        .json(&json!({
            "path": "/hooks/a",
            "responses": [{ "status": 500, "body": "boom", "headers": { "X-Why": "scripted" } }]
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pushed, json!({ "path": "/hooks/a", "queued": 1 }));
    let refused = http
        .post(rx.url("/_receiver/script"))
        .json(&json!({ "path": "/_receiver/requests", "responses": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);

    // A long-poll started before the request returns once it arrives.
    let poll = {
        let http = http.clone();
        let url = rx.url("/_receiver/requests?path=/hooks/a&min=1&timeout_ms=5000");
        tokio::spawn(async move {
            http.get(url)
                .send()
                .await
                .unwrap()
                .json::<Vec<RecordedRequest>>()
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let response = http
        .put(rx.url("/hooks/a"))
        .body("payload")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    assert_eq!(response.headers()["x-why"], "scripted");
    assert_eq!(response.text().await.unwrap(), "boom");
    let polled = tokio::time::timeout(WAIT, poll)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(polled.len(), 1);
    assert_eq!(polled[0].method, "PUT");

    let count = |path: &'static str| {
        let http = http.clone();
        let url = rx.url(&format!("/_receiver/requests/count?path={path}"));
        async move {
            http.get(url)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()["count"]
                .clone()
        }
    };
    assert_eq!(count("/hooks/a").await, json!(1));
    assert_eq!(count("/hooks/none").await, json!(0));
    let cleared = http
        .delete(rx.url("/_receiver/requests"))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 204);
    assert_eq!(count("/hooks/a").await, json!(0));
    // Control routes are never recorded.
    assert!(rx.all_requests().is_empty());
}

#[tokio::test]
async fn handle_clear_and_reset() {
    let rx = start().await;
    rx.script(
        "/h",
        vec![ScriptedResponse::status(500), ScriptedResponse::status(502)],
    );
    let http = client();
    assert_eq!(http.get(rx.url("/h")).send().await.unwrap().status(), 500);
    rx.clear();
    assert!(rx.requests("/h").is_empty());
    // clear keeps the script; reset drops it.
    rx.reset();
    assert_eq!(http.get(rx.url("/h")).send().await.unwrap().status(), 200);
    assert_eq!(rx.requests("/h").len(), 1);
}
