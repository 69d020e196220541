//! Structured JSON logs through `tracing`, with a scrubbing writer as the last line of defence.
//!
//! The first defence is not logging sensitive values at all: secrets live in types whose
//! `Debug` prints `***`, recipients and payloads are never passed to log macros. The writer
//! below additionally masks anything that looks like an API key, webhook secret, bearer or
//! provider token, email address or E.164 phone number before a line leaves the process.

use regex::Regex;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// Where log lines go.
#[derive(Clone)]
pub enum Sink {
    /// Standard output: what Lambda ships to CloudWatch Logs.
    Stdout,
    /// An in-memory buffer (tests read back every line to check nothing sensitive leaked).
    Memory(Arc<Mutex<Vec<String>>>),
}

/// Installs the global subscriber once; later calls are ignored (tests start several stacks).
pub fn init(level: &str, sink: Sink) {
    use tracing_subscriber::util::SubscriberInitExt;
    let _ = subscriber(level, sink).try_init();
}

/// One JSON object per line with a top-level `"level"` of `TRACE`, `DEBUG`, `INFO`, `WARN` or
/// `ERROR`: the key and the names Lambda's log-level filtering reads (ApplicationLogLevel in
/// template.yaml; a line without a valid `level` would be kept as INFO).
fn subscriber(level: &str, sink: Sink) -> impl tracing::Subscriber + Send + Sync + 'static {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(true)
        .with_env_filter(filter)
        .with_writer(ScrubbingWriter { sink })
        .finish()
}

/// Renders an error and its whole `source()` chain on one line: `outer: middle: root`.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut next = err.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = cause.source();
    }
    out
}

struct Redactor {
    patterns: Vec<(Regex, &'static str)>,
}

fn redactor() -> &'static Redactor {
    static REDACTOR: OnceLock<Redactor> = OnceLock::new();
    REDACTOR.get_or_init(|| {
        let rules: [(&str, &str); 7] = [
            // Mostrador API keys (see docs/api-keys in README): prefix kept for debugging.
            (r"\bmk_(live|test)_[A-Za-z0-9_]+", "mk_${1}_***"),
            // Standard Webhooks secrets.
            (r"\bwhsec_[A-Za-z0-9+/=]+", "whsec_***"),
            // Bearer tokens in any header dump.
            (r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+", "Bearer ***"),
            // Mercado Pago access tokens.
            (r"\b(APP_USR|TEST)-[0-9A-Za-z-]{16,}", "$1-***"),
            // Argon2 PHC strings (key hashes).
            (r"\$argon2(id|i|d)\$[^\s\x22]+", "$$argon2$1$***"),
            // Email addresses.
            (
                r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+",
                "***@***",
            ),
            // E.164 phone numbers.
            (r"\+[1-9][0-9]{7,14}\b", "+***"),
        ];
        Redactor {
            patterns: rules
                .iter()
                .filter_map(|(re, with)| Regex::new(re).ok().map(|r| (r, *with)))
                .collect(),
        }
    })
}

static SCRUBBED_LINES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many log lines this process had to scrub. Anything above zero means some code path
/// tried to log a secret or personal datum: tests assert it stays zero.
pub fn scrubbed_lines() -> u64 {
    SCRUBBED_LINES.load(std::sync::atomic::Ordering::Relaxed)
}

/// Masks secrets and personal data in one log line.
pub fn scrub(line: &str) -> String {
    let mut out = std::borrow::Cow::Borrowed(line);
    for (re, with) in &redactor().patterns {
        if re.is_match(&out) {
            out = std::borrow::Cow::Owned(re.replace_all(&out, *with).into_owned());
        }
    }
    out.into_owned()
}

fn scrub_line(line: &str) -> String {
    let out = scrub(line);
    if out != line {
        SCRUBBED_LINES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    out
}

#[derive(Clone)]
struct ScrubbingWriter {
    sink: Sink,
}

impl<'a> MakeWriter<'a> for ScrubbingWriter {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            sink: self.sink.clone(),
            buf: Vec::with_capacity(256),
        }
    }
}

/// Buffers one formatted event and scrubs it as a whole when dropped (the fmt layer makes one
/// writer per event), so a pattern split across `write` calls is still caught.
struct LineWriter {
    sink: Sink,
    buf: Vec<u8>,
}

impl Write for LineWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let line = scrub_line(&String::from_utf8_lossy(&self.buf));
        match &self.sink {
            Sink::Stdout => {
                let _ = std::io::stdout().lock().write_all(line.as_bytes());
            }
            Sink::Memory(lines) => {
                if let Ok(mut lines) = lines.lock() {
                    lines.push(line);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_secrets_and_personal_data() {
        let line = r#"{"msg":"key mk_live_01ABCDEF_secretpart_x9 hdr Bearer abc.def sec whsec_MfKQ9r8GKY+/= tok APP_USR-1234567890123456-112233-abcdef-42 to ana.perez+shop@example.com.ar phone +5491155550000 hash $argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"}"#;
        let out = scrub(line);
        for leaked in [
            "secretpart",
            "abc.def",
            "MfKQ9r8GKY",
            "1234567890123456",
            "ana.perez",
            "5491155550000",
            "aGFzaA",
        ] {
            assert!(!out.contains(leaked), "{leaked} leaked in {out}");
        }
        assert!(out.contains("mk_live_***"));
        assert!(out.contains("***@***"));
    }

    #[test]
    fn every_pattern_compiles() {
        assert_eq!(redactor().patterns.len(), 7);
    }

    #[test]
    fn leaves_ordinary_lines_alone() {
        let line = r#"{"level":"INFO","request_id":"3f1c","latency_ms":12,"ts":1742505638683}"#;
        assert_eq!(scrub(line), line);
    }

    #[test]
    fn every_line_carries_a_level_lambda_can_filter_on() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let subscriber = subscriber("trace", Sink::Memory(lines.clone()));
        tracing::subscriber::with_default(subscriber, || {
            tracing::trace!("t");
            tracing::debug!("d");
            tracing::info!("i");
            tracing::warn!("w");
            tracing::error!("e");
        });
        let levels: Vec<String> = lines
            .lock()
            .unwrap()
            .iter()
            .map(|line| {
                let json: serde_json::Value = serde_json::from_str(line).unwrap();
                json["level"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(levels, ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"]);
    }

    #[test]
    fn error_chain_joins_causes() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] std::io::Error);
        let err = Outer(std::io::Error::other("root cause"));
        assert_eq!(error_chain(&err), "outer: root cause");
    }
}
