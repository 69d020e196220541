//! `make bench` (issue 8): measures every function's release binary on this machine and writes
//! `docs/benchmarks.md`.
//!
//! 1. Cold start: process start -> first `GET /2018-06-01/runtime/invocation/next` on a local
//!    Lambda Runtime API stub (`stub.rs`), median of `BENCH_COLD_RUNS` (default 20) runs, beside
//!    the `hello` baseline.
//! 2. Binary size (release profile, stripped).
//! 3. Peak RSS (`VmHWM`) of each HTTP function after `BENCH_WARM` (default 1000) warm
//!    invocations fed through the stub, against DynamoDB Local + moto + the sandboxes of an
//!    ephemeral local stack.
//! 4. Warm CPU per request (utime+stime from `/proc/<pid>/stat`, over those invocations).
//! 5. AWS calls per hot route and their sequential depth, from the opt-in SDK interceptor
//!    (`MOSTRADOR_COUNT_AWS_CALLS=1`, `mostrador::aws_calls`).
//! 6. Cost per 1,000 orders from those counts and AWS list prices.

#![allow(clippy::print_stdout)]

mod baseline;
mod calls;
mod cold;
mod first_call;
mod knobs;
mod pools;
mod process;
mod project;
mod report;
mod results;
mod route;
mod run;
mod scenario;
mod stats;
mod stub;
mod warm;
mod workspace;

use knobs::Knobs;
use stub::BoxError;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let knobs = Knobs::from_env()?;
    let (results, notes) = run::run(&knobs).await?;
    if let Some(label) = &knobs.save_baseline {
        baseline::save(&knobs.root, &baseline::summary(&results, label))?;
        println!("saved infra/bench/baseline.json ({label})");
    }
    let before = baseline::load(&knobs.root);
    let text = report::render(&results, &notes, before.as_ref());
    let out = knobs.root.join("docs/benchmarks.md");
    std::fs::write(&out, text)?;
    println!("wrote {}", out.display());
    Ok(())
}
