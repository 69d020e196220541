//! AWS calls per invocation of a hot route and their sequential depth, read from the opt-in
//! SDK interceptor's log lines (`MOSTRADOR_COUNT_AWS_CALLS=1`, `mostrador::aws_calls`).

use crate::process::{start_process, stop};
use crate::route::{event_for, status_of, Route};
use crate::stub::{BoxError, Res};
use mostrador_devstack::Stack;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Call {
    pub service: String,
    pub operation: String,
    pub start_us: u64,
    pub end_us: u64,
}

#[derive(Debug, Default)]
pub struct Calls {
    /// Calls of each sampled invocation.
    pub per_invocation: Vec<Vec<Call>>,
    pub statuses: BTreeMap<String, usize>,
    pub error: Option<String>,
}

impl Calls {
    pub fn mean_count(&self) -> f64 {
        if self.per_invocation.is_empty() {
            return 0.0;
        }
        let total: usize = self.per_invocation.iter().map(Vec::len).sum();
        total as f64 / self.per_invocation.len() as f64
    }

    /// The median depth over the samples: the route's structure. A single sample can read one
    /// deeper when two concurrent calls happen not to overlap on a loaded machine (see max).
    pub fn depth(&self) -> usize {
        let mut depths: Vec<usize> = self.per_invocation.iter().map(|c| depth(c)).collect();
        depths.sort_unstable();
        depths.get(depths.len() / 2).copied().unwrap_or(0)
    }

    pub fn max_depth(&self) -> usize {
        self.per_invocation
            .iter()
            .map(|c| depth(c))
            .max()
            .unwrap_or(0)
    }

    /// Operations of the last sampled invocation, in start order.
    pub fn sequence(&self) -> String {
        let Some(last) = self.per_invocation.last() else {
            return String::new();
        };
        let mut calls = last.clone();
        calls.sort_by_key(|c| c.start_us);
        calls
            .iter()
            .map(|c| format!("{}.{}", c.service, c.operation))
            .collect::<Vec<_>>()
            .join(" → ")
    }
}

/// The longest chain of calls where each starts after the previous one ended.
pub fn depth(calls: &[Call]) -> usize {
    let mut sorted = calls.to_vec();
    sorted.sort_by_key(|c| c.end_us);
    let mut chain = vec![0usize; sorted.len()];
    for i in 0..sorted.len() {
        let best = (0..i)
            .filter(|&j| sorted[j].end_us <= sorted[i].start_us)
            .map(|j| chain[j])
            .max()
            .unwrap_or(0);
        chain[i] = best + 1;
    }
    chain.into_iter().max().unwrap_or(0)
}

pub async fn calls(stack: &Stack, bin: &Path, route: &Route, samples: usize) -> Res<Calls> {
    let (mut stub, mut child) = start_process(stack, bin, &route.binary, true).await?;
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    if let Some(stdout) = child.stdout.take() {
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if line.contains("mostrador::aws_calls") && tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    let result = async {
        let mut c = Calls::default();
        // Warm-up invocations fill the container caches (API key, credentials) first.
        for i in 0..samples + 3 {
            let outcome = stub
                .invoke(event_for(route, 500_000 + i), Duration::from_secs(30))
                .await?;
            tokio::time::sleep(Duration::from_millis(30)).await;
            let lines: Vec<String> = rx.try_iter().collect();
            if i < 3 {
                continue;
            }
            *c.statuses.entry(status_of(&outcome)).or_default() += 1;
            let calls = lines
                .iter()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .map(|v| Call {
                    service: v["aws_service"].as_str().unwrap_or_default().to_owned(),
                    operation: v["aws_operation"].as_str().unwrap_or_default().to_owned(),
                    start_us: v["start_us"].as_u64().unwrap_or_default(),
                    end_us: v["end_us"].as_u64().unwrap_or_default(),
                })
                .collect();
            c.per_invocation.push(calls);
        }
        Ok::<_, BoxError>(c)
    }
    .await;
    stop(child);
    result
}
