//! Before/after: `BENCH_SAVE_BASELINE=<label> make bench` keeps a run's figures in
//! `infra/bench/baseline.json`; every later report compares itself with them.

use crate::results::Results;
use serde_json::{json, Map, Value};
use std::fmt::Write;
use std::path::Path;

const MIB: f64 = 1024.0 * 1024.0;

/// The figures of this run worth comparing later.
pub fn summary(r: &Results, label: &str) -> Value {
    let mut binaries = Map::new();
    for (name, size) in &r.sizes {
        let cold = r.cold_ms.get(name).and_then(|c| c.as_ref().ok()).copied();
        binaries.insert(name.clone(), json!({"size": size, "cold_ms": cold}));
    }
    let mut warm = Map::new();
    for (route, w) in r.warm.iter().filter(|(_, w)| w.error.is_none()) {
        warm.insert(
            route.clone(),
            json!({"rss_mib": w.vmhwm_kib as f64 / 1024.0, "cpu_ms": w.cpu_ms_per_req}),
        );
    }
    let mut calls = Map::new();
    for (route, c) in r.calls.iter().filter(|(_, c)| c.error.is_none()) {
        calls.insert(
            route.clone(),
            json!({"count": c.mean_count(), "depth": c.depth()}),
        );
    }
    let date = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    json!({"label": label, "date": date, "binaries": binaries, "warm": warm, "calls": calls})
}

pub fn load(root: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(root.join("infra/bench/baseline.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// Writes `summary`, keeping the entries of an existing baseline this run did not measure
/// (`BENCH_ONLY`, `BENCH_SKIP_COLD`).
pub fn save(root: &Path, summary: &Value) -> std::io::Result<()> {
    let mut merged = load(root).unwrap_or_else(|| json!({}));
    for section in ["binaries", "warm", "calls"] {
        let fresh = summary[section].as_object().cloned().unwrap_or_default();
        let kept = merged[section].as_object().cloned().unwrap_or_default();
        let mut all = kept;
        for (k, v) in fresh {
            let measured = v.get("cold_ms").is_none_or(|c| !c.is_null());
            if measured || !all.contains_key(&k) {
                all.insert(k, v);
            }
        }
        merged[section] = Value::Object(all);
    }
    merged["label"] = summary["label"].clone();
    merged["date"] = summary["date"].clone();
    let text = serde_json::to_string_pretty(&merged).unwrap_or_default();
    std::fs::write(root.join("infra/bench/baseline.json"), text + "\n")
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn cell(v: Option<f64>, fmt: impl Fn(f64) -> String) -> String {
    v.map(fmt).unwrap_or_else(|| "-".into())
}

/// The before → after tables, when a baseline exists.
pub fn render(o: &mut String, before: &Value, r: &Results) {
    let _ = writeln!(o, "\n## Before → after\n");
    let _ = writeln!(
        o,
        "Before = `infra/bench/baseline.json`: {} (measured {}). After = this run. Hot POST routes send an `Idempotency-Key` in both unless marked otherwise. Sizes, RSS and call counts compare directly; cold start and CPU per request depend on what else this shared 2-core machine runs at the time (the hello world row shows the drift), so runs made at different times only compare to within tens of percent: the notes give an interleaved before/after of CPU.\n",
        before["label"].as_str().unwrap_or("?"),
        before["date"].as_str().unwrap_or("?")
    );
    let hello = |v: &Value| num(&v["binaries"]["hello"]["cold_ms"]);
    let (hello_before, hello_after) = (
        hello(before),
        r.cold_ms
            .get("hello")
            .and_then(|c| c.as_ref().ok())
            .copied(),
    );
    let _ = writeln!(
        o,
        "| Binary | Size before | Size after | Cold before (× hello) | Cold after (× hello) |"
    );
    let _ = writeln!(o, "|---|---:|---:|---:|---:|");
    for name in r.functions.iter().map(String::as_str).chain(["hello"]) {
        let b = &before["binaries"][name];
        let size_after = r.sizes.get(name).map(|s| *s as f64);
        let cold_after = r.cold_ms.get(name).and_then(|c| c.as_ref().ok()).copied();
        let ratio = |ms: Option<f64>, h: Option<f64>| match (ms, h) {
            (Some(ms), Some(h)) => format!("{ms:.2} ms ({:.2}×)", ms / h),
            (Some(ms), None) => format!("{ms:.2} ms"),
            _ => "-".into(),
        };
        let _ = writeln!(
            o,
            "| {name} | {} | {} | {} | {} |",
            cell(num(&b["size"]), |s| format!("{:.2} MiB", s / MIB)),
            cell(size_after, |s| format!("{:.2} MiB", s / MIB)),
            ratio(num(&b["cold_ms"]), hello_before),
            ratio(cold_after, hello_after),
        );
    }
    let _ = writeln!(
        o,
        "\n| Route | Peak RSS before → after | CPU ms/req before → after | AWS calls before → after | Sequential depth before → after |"
    );
    let _ = writeln!(o, "|---|---:|---:|---:|---:|");
    let mut labels: Vec<&String> = r.warm.keys().chain(r.calls.keys()).collect();
    labels.sort();
    labels.dedup();
    for label in labels {
        let (bw, bc) = (&before["warm"][label], &before["calls"][label]);
        let w = r.warm.get(label).filter(|w| w.error.is_none());
        let c = r.calls.get(label).filter(|c| c.error.is_none());
        let pair = |b: Option<f64>, a: Option<f64>, f: &dyn Fn(f64) -> String| {
            format!("{} → {}", cell(b, f), cell(a, f))
        };
        let _ = writeln!(
            o,
            "| {label} | {} | {} | {} | {} |",
            pair(
                num(&bw["rss_mib"]),
                w.map(|w| w.vmhwm_kib as f64 / 1024.0),
                &|v| format!("{v:.1} MiB")
            ),
            pair(
                num(&bw["cpu_ms"]),
                w.map(|w| w.cpu_ms_per_req),
                &|v| format!("{v:.3}")
            ),
            pair(num(&bc["count"]), c.map(|c| c.mean_count()), &|v| format!(
                "{v:.1}"
            )),
            pair(
                num(&bc["depth"]),
                c.map(|c| c.depth() as f64),
                &|v| format!("{v:.0}")
            ),
        );
    }
}
