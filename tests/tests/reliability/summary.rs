//! The summary table: printed, written to `target/reliability.md`, and the list of violations
//! the test fails on.

use crate::backup::Backup;
use crate::faults::Injected;
use crate::hostile::Hostile;
use crate::load::{RateLimits, Run};
use crate::reconcile::Reconciled;
use crate::secrets::Scan;
use crate::Size;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

pub struct Report {
    size: Size,
    md: String,
    rows: Vec<(String, String, bool)>,
    violations: Vec<String>,
    /// Every recipient the suite used, for the log scan.
    pub used: Vec<String>,
}

impl Report {
    pub fn new(size: Size) -> Self {
        Self {
            size,
            md: String::new(),
            rows: Vec::new(),
            violations: Vec::new(),
            used: Vec::new(),
        }
    }

    fn row(&mut self, what: &str, figure: String, ok: bool) {
        self.rows.push((what.to_owned(), figure, ok));
    }

    pub fn load(&mut self, phase: &str, run: &Run, r: &Reconciled) {
        self.used.extend(
            run.accepted
                .iter()
                .filter(|a| a.subject.contains('@') || a.subject.starts_with('+'))
                .map(|a| a.subject.clone()),
        );
        let refused: Vec<String> = run
            .refused
            .iter()
            .map(|(s, n)| format!("{s}×{n}"))
            .collect();
        self.row(
            &format!("{phase}: load held"),
            format!(
                "{} shops, {} API requests in {:.0} s = {:.1} req/s; p50 {:.0} ms, p99 {:.0} ms; {} accepted, refused {}, transport errors {}",
                self.size.shops, run.requests, run.elapsed.as_secs_f64(), run.throughput(), run.percentile(0.5), run.percentile(0.99),
                run.accepted.len(), if refused.is_empty() { "none".into() } else { refused.join(" ") }, run.transport_errors
            ),
            run.malformed_errors == 0,
        );
        let outcomes: Vec<String> = r.outcomes.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let deliveries: Vec<String> = r
            .deliveries_by_status
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        self.row(
            &format!("{phase}: reconciled"),
            format!(
                "{}/{} accepted requests terminal and listed ({}); {} webhook deliveries ({}); settled in {:.0} s (clock moved {} s)",
                r.terminal, r.accepted, outcomes.join(", "), r.deliveries, deliveries.join(", "), r.settle_secs, r.clock_advanced_secs
            ),
            r.violations.is_empty(),
        );
        self.row(
            &format!("{phase}: at most once / exactly once"),
            format!("{} mails and {} WhatsApp messages for the notifications, none twice; order.paid once for {} paid orders", r.mails_counted, r.whatsapp_counted, r.order_paid_orders),
            r.violations.is_empty(),
        );
        let leaks = r
            .violations
            .iter()
            .filter(|v| v.contains("leak") || v.starts_with("GET "))
            .count();
        self.row(
            &format!("{phase}: cross-project leaks"),
            format!(
                "{leaks} (lists of every shop checked; {} foreign GETs → 404)",
                r.foreign_checks
            ),
            leaks == 0,
        );
        if run.malformed_errors > 0 {
            self.violations.push(format!(
                "{phase}: {} 5xx answers without problem+json",
                run.malformed_errors
            ));
        }
        self.violations
            .extend(r.violations.iter().map(|v| format!("{phase}: {v}")));
    }

    pub fn rate_limits(&mut self, r: RateLimits) {
        let bound = u64::from(r.limit_per_second) * r.hammered_seconds;
        let ok =
            r.hammered_429 > 0 && r.hammered_ok <= bound && r.others_429 == 0 && r.problem_json_429;
        self.row(
            "rate limits held per project",
            format!(
                "hammered shop ({}/s): {} OK (≤ {bound}), {} × 429 problem+json; other shops: {} OK, {} × 429",
                r.limit_per_second, r.hammered_ok, r.hammered_429, r.others_ok, r.others_429
            ),
            ok,
        );
        if !ok {
            self.violations.push(format!("rate limits: {r:?}"));
        }
    }

    pub fn faults(&mut self, injected: Vec<Injected>) {
        let list: Vec<String> = injected
            .iter()
            .map(|f| format!("{} ({})", f.name, f.detail))
            .collect();
        self.row(
            "faults injected and survived",
            format!("{}: {}", injected.len(), list.join("; ")),
            true,
        );
    }

    pub fn hostile(&mut self, h: Hostile) {
        let mut families: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for o in &h.outcomes {
            let e = families.entry(o.family).or_default();
            e.0 += 1;
            e.1 += usize::from(o.passed);
        }
        let per: Vec<String> = families
            .iter()
            .map(|(f, (n, p))| format!("{f} {p}/{n}"))
            .collect();
        let failures = h.failures();
        self.row(
            "hostile cases tried",
            format!(
                "{} ({}); 4xx problem+json with a code and no state change: {}",
                h.outcomes.len(),
                per.join(", "),
                h.outcomes.len() - failures.len()
            ),
            failures.is_empty(),
        );
        let _ = writeln!(self.md, "\n### Hostile cases\n\n| family | case | status | code | result |\n|---|---|---|---|---|");
        for o in &h.outcomes {
            let result = if o.passed {
                "ok".to_owned()
            } else {
                format!("**FAIL** {}", o.why.replace('|', "\\|"))
            };
            let _ = writeln!(
                self.md,
                "| {} | {} | {} | `{}` | {} |",
                o.family,
                o.name.replace('|', "\\|"),
                o.status,
                o.code,
                result
            );
        }
        self.violations.extend(
            failures
                .iter()
                .map(|o| format!("hostile {} / {}: {}", o.family, o.name, o.why)),
        );
    }

    pub fn backup(&mut self, b: Backup) {
        self.row(
            "export/import round trip",
            format!(
                "{} items ({} KB) exported, project deleted, {} imported and identical, re-import wrote {}; secret references: {}",
                b.items, b.bytes / 1024, b.imported, b.reimported_written, b.secret_refs.join(", ")
            ),
            b.violations.is_empty(),
        );
        self.violations
            .extend(b.violations.iter().map(|v| format!("backup: {v}")));
    }

    pub fn secrets(&mut self, s: Scan) {
        self.row(
            "secrets and PII in logs",
            format!("{} hits in {} log lines ({} needles + e-mail/phone shapes); lines the scrubber had to redact: {}", s.hits.len(), s.lines, s.needles, s.scrubbed_lines),
            s.hits.is_empty() && s.scrubbed_lines == 0,
        );
        if s.scrubbed_lines > 0 {
            self.violations
                .push(format!("{} log lines needed scrubbing", s.scrubbed_lines));
        }
        self.violations.extend(
            s.hits
                .into_iter()
                .take(20)
                .map(|h| format!("log leak: {h}")),
        );
    }

    pub fn finish(&mut self, elapsed: Duration) {
        let mut out = format!(
            "# Reliability suite ({} run, {:.0} s wall)\n\nCommand: `{}`. Generated by `tests/tests/reliability`.\n\n| check | figures | result |\n|---|---|---|\n",
            self.size.name,
            elapsed.as_secs_f64(),
            if self.size.name == "long" { "make reliability" } else { "cargo test -p mostrador-tests --test reliability" }
        );
        for (what, figure, ok) in &self.rows {
            let _ = writeln!(
                out,
                "| {what} | {} | {} |",
                figure.replace('|', "\\|"),
                if *ok { "ok" } else { "**FAIL**" }
            );
        }
        let _ = writeln!(
            out,
            "| violations | {} | {} |",
            self.violations.len(),
            if self.violations.is_empty() {
                "ok"
            } else {
                "**FAIL**"
            }
        );
        if !self.violations.is_empty() {
            let _ = writeln!(out, "\n### Violations\n");
            for v in &self.violations {
                let _ = writeln!(out, "- {}", v.replace('\n', " "));
            }
        }
        out.push_str(&self.md);
        println!("\n{out}");
        let path = mostrador_tests::repo_root().join("target/reliability.md");
        if let Err(e) = std::fs::write(&path, &out) {
            println!("could not write {}: {e}", path.display());
        }
    }

    pub fn violations(&self) -> Vec<String> {
        self.violations.clone()
    }
}
