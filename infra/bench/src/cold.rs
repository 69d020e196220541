//! Cold start: process start -> first `/next` on a fresh Runtime API stub.

use crate::process::{spawn, stop};
use crate::stats::median;
use crate::stub::{Res, Stub};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

pub async fn cold_start(bin: &Path, env: BTreeMap<String, String>, runs: usize) -> Res<f64> {
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
