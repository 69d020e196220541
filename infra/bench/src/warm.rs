//! Warm runs: CPU and wall time per request and peak RSS over many invocations of one process.

use crate::knobs::env_usize;
use crate::process::{proc_cpu_ticks, start_process, stop, vmhwm_kib};
use crate::route::{event_for, status_of, Route};
use crate::stub::{BoxError, Res};
use mostrador_devstack::Stack;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
pub struct Warm {
    pub invocations: usize,
    pub statuses: BTreeMap<String, usize>,
    pub cpu_ms_per_req: f64,
    pub wall_ms_per_req: f64,
    pub vmhwm_kib: u64,
    pub error: Option<String>,
}

pub async fn warm(stack: &Stack, bin: &Path, route: &Route, n: usize, tck: f64) -> Res<Warm> {
    let (mut stub, child) = start_process(stack, bin, &route.binary, false).await?;
    let pid = child.id();
    let result = async {
        let mut w = Warm::default();
        for i in 0..20 {
            stub.invoke(event_for(route, i), Duration::from_secs(30))
                .await?;
        }
        let before = proc_cpu_ticks(pid)?;
        let t0 = Instant::now();
        let budget = Duration::from_secs(env_usize("BENCH_ROUTE_SECS", 75) as u64);
        let mut n_done = 0;
        for i in 0..n {
            if t0.elapsed() > budget {
                break;
            }
            n_done += 1;
            let outcome = stub
                .invoke(event_for(route, 1000 + i), Duration::from_secs(30))
                .await?;
            *w.statuses.entry(status_of(&outcome)).or_default() += 1;
        }
        let wall = t0.elapsed();
        let after = proc_cpu_ticks(pid)?;
        let n = n_done.max(1);
        w.invocations = n_done;
        w.cpu_ms_per_req = (after - before) as f64 / tck * 1000.0 / n as f64;
        w.wall_ms_per_req = wall.as_secs_f64() * 1000.0 / n as f64;
        w.vmhwm_kib = vmhwm_kib(pid)?;
        Ok::<_, BoxError>(w)
    }
    .await;
    stop(child);
    result
}
