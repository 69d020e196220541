//! A small SES v2 front in front of moto, so the local stack can fail like SES does.
//!
//! Moto's SES never throttles and never loses a connection. The functions' SES endpoint is
//! this relay instead (the local twin of `AWS_ENDPOINT_URL_SESV2`); it passes every request to
//! moto, except `SendEmail` calls (`POST /v2/email/outbound-emails`) it was told to disturb:
//!
//! - **a send rate**: above `max_send_rate` e-mails per second (fixed one-second windows) it
//!   answers exactly what SES v2 answers: HTTP 429, `x-amzn-errortype:
//!   TooManyRequestsException`, a JSON `{"message": "Maximum sending rate exceeded."}`; moto
//!   never sees the request;
//! - **`accept_then_reset`**: passes the request to moto (which records the e-mail as sent),
//!   then closes the connection without answering: the provider accepted it, the caller cannot
//!   know.
//!
//! Faults are rules keyed by `match`: a rule applies to requests whose body contains its
//! `match` text (a project's sender domain, so one test's faults leave the rest of a shared
//! stack alone); an empty `match` applies to every request. `POST /_local/ses` sets the rule of
//! its `match` (a rule with no fault removes it); `GET /_local/ses` lists them (`server.rs`).
//!
//! The relay speaks plain HTTP/1.1 with `Content-Length` bodies, which is what the SDK sends.

use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the front does to matching `SendEmail` calls.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Faults {
    /// E-mails per second accepted; more are answered 429. `None`: no limit.
    #[serde(default)]
    pub max_send_rate: Option<u32>,
    /// Only requests whose body contains this text are disturbed. Empty: all.
    #[serde(default, rename = "match")]
    pub matching: String,
    /// How many next matching sends are accepted by moto and then cut without an answer.
    #[serde(default)]
    pub accept_then_reset: u32,
}

/// Counters of what the front did (for tests and the operator).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Seen {
    pub passed: u64,
    pub throttled: u64,
    pub reset: u64,
}

#[derive(Default)]
struct Rule {
    faults: Faults,
    seen: Seen,
    /// The current one-second window and how many matching sends it let through.
    window: (i64, u32),
}

#[derive(Default)]
struct State {
    /// By `match` text.
    rules: std::collections::BTreeMap<String, Rule>,
    /// Sends no rule matched.
    unmatched: u64,
}

/// One rule as `GET /_local/ses` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct RuleView {
    pub faults: Faults,
    pub seen: Seen,
}

/// The relay's shared state and address.
pub struct SesFront {
    pub url: String,
    moto: String,
    state: Mutex<State>,
    http: reqwest::Client,
}

enum Verdict {
    Pass,
    Throttle,
    Reset,
}

const SEND_EMAIL_PATH: &str = "/v2/email/outbound-emails";
/// Requests larger than this are refused (SES's own message limit is 40 MB; tests send less).
const MAX_REQUEST: usize = 16 * 1024 * 1024;

impl SesFront {
    /// Listens on a free loopback port and relays to `moto_endpoint`.
    pub async fn start(moto_endpoint: String) -> std::io::Result<Arc<Self>> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let front = Arc::new(Self {
            url: format!("http://{}", listener.local_addr()?),
            moto: moto_endpoint,
            state: Mutex::new(State::default()),
            http: reqwest::Client::new(),
        });
        let serving = Arc::clone(&front);
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(Arc::clone(&serving).connection(socket));
            }
        });
        Ok(front)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every rule, and how many sends no rule matched.
    pub fn rules(&self) -> (Vec<RuleView>, u64) {
        let state = self.lock();
        let rules = state
            .rules
            .values()
            .map(|r| RuleView {
                faults: r.faults.clone(),
                seen: r.seen.clone(),
            })
            .collect();
        (rules, state.unmatched)
    }

    /// Sets the rule of `faults.matching` (restarting its rate window); a rule without any
    /// fault removes it.
    pub fn set(&self, faults: Faults) {
        let mut state = self.lock();
        let key = faults.matching.clone();
        if faults.max_send_rate.is_none() && faults.accept_then_reset == 0 {
            state.rules.remove(&key);
            return;
        }
        let seen = state.rules.remove(&key).map(|r| r.seen).unwrap_or_default();
        state.rules.insert(
            key,
            Rule {
                faults,
                seen,
                window: (0, 0),
            },
        );
    }

    fn verdict(&self, method: &str, path: &str, body: &[u8]) -> Verdict {
        if method != "POST" || path != SEND_EMAIL_PATH {
            return Verdict::Pass;
        }
        let text = String::from_utf8_lossy(body);
        let mut state = self.lock();
        let Some(rule) = state
            .rules
            .iter_mut()
            .find(|(key, _)| text.contains(key.as_str()))
            .map(|(_, rule)| rule)
        else {
            state.unmatched += 1;
            return Verdict::Pass;
        };
        if let Some(rate) = rule.faults.max_send_rate {
            let second = time::OffsetDateTime::now_utc().unix_timestamp();
            if rule.window.0 != second {
                rule.window = (second, 0);
            }
            if rule.window.1 >= rate {
                rule.seen.throttled += 1;
                return Verdict::Throttle;
            }
            rule.window.1 += 1;
        }
        if rule.faults.accept_then_reset > 0 {
            rule.faults.accept_then_reset -= 1;
            rule.seen.reset += 1;
            return Verdict::Reset;
        }
        rule.seen.passed += 1;
        Verdict::Pass
    }

    /// Serves one keep-alive connection, one request at a time.
    async fn connection(self: Arc<Self>, mut socket: TcpStream) {
        let mut buffer = Vec::new();
        while let Some(request) = read_request(&mut socket, &mut buffer).await {
            let verdict = self.verdict(&request.method, &request.path, &request.body);
            let answer = match verdict {
                Verdict::Throttle => throttled(),
                Verdict::Reset => {
                    let _ = self.forward(&request).await;
                    return; // Dropping the socket closes it without an answer.
                }
                Verdict::Pass => match self.forward(&request).await {
                    Ok(answer) => answer,
                    Err(_) => return,
                },
            };
            if socket.write_all(&answer).await.is_err() {
                return;
            }
        }
    }

    async fn forward(&self, request: &Request) -> Result<Vec<u8>, reqwest::Error> {
        let method =
            reqwest::Method::from_bytes(request.method.as_bytes()).unwrap_or(reqwest::Method::POST);
        let mut outgoing = self
            .http
            .request(method, format!("{}{}", self.moto, request.target));
        for (name, value) in &request.headers {
            let skip = ["host", "content-length", "connection", "transfer-encoding"];
            if !skip.contains(&name.to_ascii_lowercase().as_str()) {
                outgoing = outgoing.header(name, value);
            }
        }
        let response = outgoing.body(request.body.clone()).send().await?;
        let status = response.status();
        let mut head = format!(
            "HTTP/1.1 {} {}\r\n",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        );
        for (name, value) in response.headers() {
            let skip = ["content-length", "connection", "transfer-encoding"];
            if skip.contains(&name.as_str()) {
                continue;
            }
            if let Ok(value) = value.to_str() {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
        }
        let body = response.bytes().await?;
        head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
        let mut answer = head.into_bytes();
        answer.extend_from_slice(&body);
        Ok(answer)
    }
}

/// SES v2's throttling answer, byte for byte in the parts the SDK reads.
fn throttled() -> Vec<u8> {
    let body = r#"{"message":"Maximum sending rate exceeded."}"#;
    format!(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\nx-amzn-errortype: TooManyRequestsException\r\nx-amzn-requestid: {}\r\ncontent-length: {}\r\n\r\n{body}",
        ulid::Ulid::new(),
        body.len()
    )
    .into_bytes()
}

struct Request {
    method: String,
    /// Path and query, as received.
    target: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Reads one request (head and `Content-Length` body); `None` at the end of the connection.
/// `buffer` keeps bytes read past the request for the next one.
async fn read_request(socket: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<Request> {
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        if let Some(end) = find(buffer, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).to_string();
            let mut lines = head.split("\r\n");
            let mut first = lines.next()?.split(' ');
            let (method, target) = (first.next()?.to_owned(), first.next()?.to_owned());
            let headers: Vec<(String, String)> = lines
                .filter_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    Some((k.trim().to_owned(), v.trim().to_owned()))
                })
                .collect();
            let length = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.parse::<usize>().ok())
                .unwrap_or(0);
            if length > MAX_REQUEST {
                return None;
            }
            while buffer.len() < end + 4 + length {
                let n = socket.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buffer.extend_from_slice(&chunk[..n]);
            }
            let body = buffer[end + 4..end + 4 + length].to_vec();
            buffer.drain(..end + 4 + length);
            let path = target.split('?').next().unwrap_or("").to_owned();
            return Some(Request {
                method,
                target,
                path,
                headers,
                body,
            });
        }
        if buffer.len() > MAX_REQUEST {
            return None;
        }
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
