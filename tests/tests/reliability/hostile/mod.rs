//! Hostile input, table-driven: every case must get a 4xx problem+json with a `code` and
//! change nothing (the hostile shop's and the victim shop's lists are fingerprinted before and
//! after each case). Cases that hyper refuses before any routing (malformed HTTP/1.1, as API
//! Gateway would) are sent over a raw socket and must get a 400, problem+json too (issue 13).

mod cases;
mod strict_cases;

use crate::world::{list_all, shop, Shop};
use mostrador_tests::{client, TestStack};
use reqwest::Method;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Who {
    Hostile,
    Nobody,
}

enum Req {
    Http {
        method: Method,
        path: String,
        who: Who,
        headers: Vec<(&'static str, Vec<u8>)>,
        body: Vec<u8>,
    },
    /// Bytes written as they are to the gateway's socket.
    Raw(Vec<u8>),
}

struct Case {
    family: &'static str,
    name: String,
    req: Req,
    /// Expected status (0: any 4xx) and code ("": any).
    status: u16,
    code: &'static str,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub family: &'static str,
    pub name: String,
    pub status: u16,
    pub code: String,
    pub passed: bool,
    pub why: String,
}

#[derive(Debug, Default)]
pub struct Hostile {
    pub outcomes: Vec<Outcome>,
}

impl Hostile {
    pub fn failures(&self) -> Vec<&Outcome> {
        self.outcomes.iter().filter(|o| !o.passed).collect()
    }
}

async fn fingerprint(t: &TestStack, shops: &[&Shop]) -> String {
    let mut out = String::new();
    for s in shops {
        for path in [
            "/v1/notifications",
            "/v1/events",
            "/v1/payments",
            "/v1/webhook-deliveries",
            "/v1/templates",
        ] {
            let items = list_all(t, s.key(), path).await.unwrap_or_default();
            let ids: Vec<String> = items
                .iter()
                .map(|i| {
                    format!(
                        "{}:{}",
                        i["id"].as_str().or(i["name"].as_str()).unwrap_or(""),
                        i["status"]
                    )
                })
                .collect();
            out.push_str(&format!("{path}={ids:?};"));
        }
        let mut eps = t
            .call(Method::GET, "/v1/webhook-endpoints", s.key())
            .send()
            .await
            .unwrap();
        while eps.status().as_u16() == 429 {
            tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
            eps = t
                .call(Method::GET, "/v1/webhook-endpoints", s.key())
                .send()
                .await
                .unwrap();
        }
        out.push_str(&eps.text().await.unwrap_or_default());
    }
    out
}

pub async fn run(t: &TestStack, shops: &[Shop]) -> Hostile {
    let victim = &shops[0];
    let h = shop(t, 90).await;
    let cases = cases::all(t, &h, victim).await;
    let mut out = Hostile::default();
    // The victim (hundreds of items) is fingerprinted around the cases aimed at it and around
    // the whole table; the hostile shop around every case.
    let victim_before = fingerprint(t, &[victim]).await;
    for case in cases {
        let watched: Vec<&Shop> = if case.family == "other projects" {
            vec![&h, victim]
        } else {
            vec![&h]
        };
        let before = fingerprint(t, &watched).await;
        let mut answer = send(t, &h, &case.req).await;
        // Rate limiting is not what a case tests: wait for the next second and send it again.
        for _ in 0..5 {
            if answer.0 != 429 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
            answer = send(t, &h, &case.req).await;
        }
        let (status, content_type, body) = answer;
        let after = fingerprint(t, &watched).await;
        let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let code = parsed["code"].as_str().unwrap_or_default().to_owned();
        let mut why = Vec::new();
        if case.status != 0 && status != case.status {
            why.push(format!("status {status}, expected {}", case.status));
        }
        if !(400..500).contains(&status) {
            why.push(format!("status {status} is not 4xx"));
        }
        if content_type != "application/problem+json" {
            why.push(format!("content-type {content_type:?}"));
        }
        if code.is_empty() || (!case.code.is_empty() && code != case.code) {
            why.push(format!("code {code:?}, expected {:?}", case.code));
        }
        if before != after {
            why.push("state changed".into());
        }
        out.outcomes.push(Outcome {
            family: case.family,
            name: case.name,
            status,
            code,
            passed: why.is_empty(),
            why: format!(
                "{}; body: {}",
                why.join(", "),
                String::from_utf8_lossy(&body[..body.len().min(300)])
            ),
        });
    }
    if fingerprint(t, &[victim]).await != victim_before {
        out.outcomes.push(Outcome {
            family: "other projects",
            name: "the victim's data after the whole table".into(),
            status: 0,
            code: String::new(),
            passed: false,
            why: "the victim's lists changed".into(),
        });
    }
    out
}

async fn send(t: &TestStack, h: &Shop, req: &Req) -> (u16, String, Vec<u8>) {
    match req {
        Req::Http {
            method,
            path,
            who,
            headers,
            body,
        } => {
            let mut r = client().request(method.clone(), format!("{}{path}", t.api_url));
            match who {
                Who::Hostile => r = r.header("x-api-key", h.key()),
                Who::Nobody => {}
            }
            for (name, value) in headers {
                r = r.header(
                    *name,
                    reqwest::header::HeaderValue::from_bytes(value).unwrap(),
                );
            }
            let resp = r.body(body.clone()).send().await.unwrap();
            let status = resp.status().as_u16();
            let ct = resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            (status, ct, resp.bytes().await.unwrap_or_default().to_vec())
        }
        Req::Raw(bytes) => raw(t, bytes).await,
    }
}

async fn raw(t: &TestStack, bytes: &[u8]) -> (u16, String, Vec<u8>) {
    let addr = t.api_url.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(bytes).await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), s.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let ct = text
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("content-type:"))
        .map(|l| l[13..].trim().to_owned())
        .unwrap_or_default();
    let body = text
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or("")
        .as_bytes()
        .to_vec();
    (status, ct, body)
}
