//! The benchmark's settings. `make bench` takes no flags: everything is an environment variable
//! (README, "Performance").

use crate::stub::Res;
use crate::workspace::root;
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub struct Knobs {
    /// The repository root, canonical.
    pub root: PathBuf,
    /// `BENCH_BIN_DIR`: where the release binaries are (default `target/release`).
    pub release: PathBuf,
    /// `BENCH_COLD_RUNS`: cold starts per binary; the median is reported.
    pub cold_runs: usize,
    /// `BENCH_WARM`: warm invocations per route (0: no warm runs).
    pub warm_n: usize,
    /// `BENCH_CALL_SAMPLES`: invocations whose AWS calls are recorded, per hot route.
    pub samples: usize,
    /// `BENCH_SKIP_COLD`: no cold starts.
    pub skip_cold: bool,
    /// `BENCH_ONLY=a,b`: warm runs and call counts of these binaries only (re-measuring a few).
    pub only: Vec<String>,
    /// `BENCH_FIRST_RUNS`: fresh processes per first-call measurement (0: none).
    pub first_runs: usize,
    /// `BENCH_SAVE_BASELINE="<label>"`: keep this run's figures in `infra/bench/baseline.json`.
    pub save_baseline: Option<String>,
}

impl Knobs {
    pub fn from_env() -> Res<Self> {
        let root = root().canonicalize()?;
        let release = std::env::var("BENCH_BIN_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| root.join("target/release"));
        Ok(Self {
            root,
            release,
            cold_runs: env_usize("BENCH_COLD_RUNS", 20),
            warm_n: env_usize("BENCH_WARM", 1000),
            samples: env_usize("BENCH_CALL_SAMPLES", 10),
            skip_cold: std::env::var("BENCH_SKIP_COLD").is_ok(),
            only: std::env::var("BENCH_ONLY")
                .map(|v| v.split(',').map(str::to_owned).collect())
                .unwrap_or_default(),
            first_runs: env_usize("BENCH_FIRST_RUNS", 7),
            save_baseline: std::env::var("BENCH_SAVE_BASELINE").ok(),
        })
    }
}

/// A binary of the release directory; `hello` may come from `BENCH_HELLO` (a path).
pub fn bin_path(release: &Path, name: &str) -> PathBuf {
    match std::env::var("BENCH_HELLO") {
        Ok(path) if name == "hello" => PathBuf::from(path),
        _ => release.join(name),
    }
}

pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
