//! One benchmark run, in order: binary sizes, the local stack and the bench project, cold
//! starts, then per route the warm run and the AWS calls, then the first call with a lazy and a
//! warmed client.

use crate::calls::{calls, Calls};
use crate::cold::cold_start;
use crate::first_call::{first_call, FirstCall};
use crate::knobs::{bin_path, Knobs};
use crate::pools::pools;
use crate::process::{clk_tck, process_env};
use crate::project::setup;
use crate::results::Results;
use crate::route::{Route, NO_KEY};
use crate::scenario::routes;
use crate::stub::Res;
use crate::warm::{warm, Warm};
use crate::workspace::{function_names, memory_sizes};
use mostrador_devstack::{Stack, StackOptions};
use std::collections::BTreeMap;
use std::path::Path;

/// Measures everything; returns the results and the set-up notes (steps that failed).
pub async fn run(knobs: &Knobs) -> Res<(Results, Vec<String>)> {
    let functions = function_names(&knobs.root)?;
    let tck = clk_tck();
    let sizes = sizes(&knobs.release, &functions);

    println!("starting the local stack (DynamoDB Local + moto + sandboxes)…");
    let stack = Stack::start(StackOptions::ephemeral(knobs.root.clone())).await?;
    let (project_id, key, notes) = setup(&stack).await?;
    for n in &notes {
        println!("setup: {n}");
    }

    let cold_ms = cold_starts(&stack, knobs, &functions, &sizes).await;
    let pools = pools(&stack, &key, &project_id, knobs.warm_n + 40).await;
    println!(
        "pools: {} notifications, {} deliveries, {} payments",
        pools.notifications.len(),
        pools.deliveries.len(),
        pools.payments.len()
    );
    let routes = routes(&knobs.root, &key, &project_id, &pools)?;
    let (warm_results, call_results) = measure_routes(&stack, knobs, &routes, tck).await;
    let first = first_calls(&stack, knobs, &routes).await;
    stack.shutdown().await;

    let results = Results {
        functions,
        sizes,
        cold_ms,
        cold_runs: knobs.cold_runs,
        warm_n: knobs.warm_n,
        routes,
        warm: warm_results,
        calls: call_results,
        first,
        memory_mb: memory_sizes(&knobs.root),
    };
    Ok((results, notes))
}

/// The size of every built binary (and `hello`); one not built is skipped.
fn sizes(release: &Path, functions: &[String]) -> BTreeMap<String, u64> {
    let mut sizes = BTreeMap::new();
    for name in functions.iter().map(String::as_str).chain(["hello"]) {
        match std::fs::metadata(bin_path(release, name)) {
            Ok(m) => {
                sizes.insert(name.to_owned(), m.len());
            }
            Err(e) => println!("{name}: not built ({e}); skipped"),
        }
    }
    sizes
}

async fn cold_starts(
    stack: &Stack,
    knobs: &Knobs,
    functions: &[String],
    sizes: &BTreeMap<String, u64>,
) -> BTreeMap<String, Result<f64, String>> {
    let mut cold_ms = BTreeMap::new();
    for name in functions.iter().map(String::as_str).chain(["hello"]) {
        if !sizes.contains_key(name) || knobs.skip_cold {
            continue;
        }
        let env = if name == "hello" {
            process_env(stack, "none", "", false)
        } else {
            process_env(stack, name, "", false)
        };
        let r = cold_start(&bin_path(&knobs.release, name), env, knobs.cold_runs)
            .await
            .map_err(|e| e.to_string());
        println!("cold start {name}: {r:?} ms");
        cold_ms.insert(name.to_owned(), r);
    }
    cold_ms
}

/// The warm run of every route and the AWS calls of the hot ones, by route label; a keyed
/// route's calls are also counted without its key.
async fn measure_routes(
    stack: &Stack,
    knobs: &Knobs,
    routes: &[Route],
    tck: f64,
) -> (BTreeMap<String, Warm>, BTreeMap<String, Calls>) {
    let mut warm_results = BTreeMap::new();
    let mut call_results = BTreeMap::new();
    for route in routes {
        let bin = knobs.release.join(&route.binary);
        if !bin.is_file() || !(knobs.only.is_empty() || knobs.only.contains(&route.binary)) {
            continue;
        }
        if knobs.warm_n > 0 {
            let w = match warm(stack, &bin, route, knobs.warm_n, tck).await {
                Ok(w) => w,
                Err(e) => Warm {
                    error: Some(e.to_string()),
                    ..Default::default()
                },
            };
            println!(
                "warm {} ({} invocations): {:.3} ms CPU/req, {:.2} ms wall/req, VmHWM {} KiB, {:?}",
                route.label,
                w.invocations,
                w.cpu_ms_per_req,
                w.wall_ms_per_req,
                w.vmhwm_kib,
                w.statuses
            );
            warm_results.insert(route.label.clone(), w);
        }
        if route.hot {
            let c = count_calls(stack, &bin, route, knobs.samples, &route.label).await;
            call_results.insert(route.label.clone(), c);
            if route.keyed {
                // The same route without a key: what a client that sends none pays.
                let plain = Route {
                    keyed: false,
                    ..route.clone()
                };
                let label = format!("{}{NO_KEY}", route.label);
                let c = count_calls(stack, &bin, &plain, knobs.samples, &label).await;
                call_results.insert(label, c);
            }
        }
    }
    (warm_results, call_results)
}

/// The AWS calls of `route`, printed under `label`; a failure is kept in `Calls::error`.
async fn count_calls(
    stack: &Stack,
    bin: &Path,
    route: &Route,
    samples: usize,
    label: &str,
) -> Calls {
    let c = calls(stack, bin, route, samples)
        .await
        .unwrap_or_else(|e| Calls {
            error: Some(e.to_string()),
            ..Default::default()
        });
    println!(
        "calls {label}: {:.1} per request, depth {}: {}",
        c.mean_count(),
        c.depth(),
        c.sequence()
    );
    c
}

/// `GET /v1/project`'s first call after init, with a lazy and with a warmed DynamoDB client.
async fn first_calls(stack: &Stack, knobs: &Knobs, routes: &[Route]) -> Vec<FirstCall> {
    let mut first = Vec::new();
    let project_route = routes.iter().find(|r| r.label == "GET /v1/project");
    if let Some(route) = project_route.filter(|_| knobs.first_runs > 0) {
        let bin = knobs.release.join(&route.binary);
        for prewarm in [false, true] {
            match first_call(stack, &bin, route, prewarm, knobs.first_runs).await {
                Ok(f) => {
                    println!(
                        "first call {}: init {:.2} ms, first {:.2} ms, second {:.2} ms",
                        f.label, f.init_ms, f.first_ms, f.second_ms
                    );
                    first.push(f);
                }
                Err(e) => println!("first call (prewarm {prewarm}): {e}"),
            }
        }
    }
    first
}
