//! The first invocation after init, with a lazy and with a warmed DynamoDB client.

use crate::process::{process_env, spawn, stop};
use crate::route::{event_for, status_of, Route};
use crate::stats::median;
use crate::stub::{BoxError, Res, Stub};
use mostrador_devstack::Stack;
use std::path::Path;
use std::time::{Duration, Instant};

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

pub async fn first_call(
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
