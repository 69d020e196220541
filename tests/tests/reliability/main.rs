//! The reliability suite (`make reliability`; the short version runs in `cargo test`).
//!
//! One dedicated local stack (DynamoDB Local on disk, so it survives being killed) and a set
//! of shops (projects). In order: steady load and reconciliation, the same under faults
//! (emulators and sandboxes killed and restarted, slow and flaky providers, a sender killed
//! mid-batch), hostile input, an export/import round trip, and a scan of every log line for
//! secrets and personal data. Figures go to standard output and `target/reliability.md`;
//! every violation found is listed there, then fails the test.
//!
//! `RELIABILITY=long` makes it bigger (more shops, longer load); `short` is the default.

// Test code: a failed unwrap is a failed test; the summary table is its output.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

mod backup;
mod faults;
mod hostile;
mod load;
mod reconcile;
mod secrets;
mod summary;
mod world;

use summary::Report;

/// How big a run is.
#[derive(Clone, Copy, Debug)]
pub struct Size {
    pub name: &'static str,
    pub shops: usize,
    /// Seconds of steady load per phase.
    pub load_secs: u64,
    /// Rounds per second per shop (a round = e-mail + WhatsApp + event + payment).
    pub rounds_per_sec: f64,
}

impl Size {
    fn from_env() -> Self {
        match std::env::var("RELIABILITY").as_deref() {
            Ok("long") => Self {
                name: "long",
                shops: 10,
                load_secs: 90,
                rounds_per_sec: 0.5,
            },
            _ => Self {
                name: "short",
                shops: 3,
                load_secs: 12,
                rounds_per_sec: 1.0,
            },
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reliability_suite() {
    if std::env::var("RELIABILITY").as_deref() == Ok("hostile") {
        return hostile_only().await;
    }
    let size = Size::from_env();
    let started = std::time::Instant::now();
    let (stack, t, _root) = world::start().await;
    let shops = world::shops(&t, size.shops).await;
    let mut report = Report::new(size);

    let phase = |name: &str| {
        println!(
            "[reliability {:>4.0} s] {name}",
            started.elapsed().as_secs_f64()
        )
    };
    phase("steady load");
    let run = load::run(&t, &shops, size).await;
    phase("reconcile");
    let reconciled = reconcile::all(&t, &shops, &run).await;
    report.load("steady load", &run, &reconciled);
    phase("rate limits");
    report.rate_limits(load::rate_limits(&t, &shops).await);

    phase("load under faults");
    let (faulted, faults) = faults::run(&stack, &t, &shops, size).await;
    phase("reconcile");
    let reconciled = reconcile::all_with(&t, &shops, &faulted, &faults.before).await;
    report.load("load under faults", &faulted, &reconciled);
    report.faults(faults.injected);

    phase("hostile input");
    report.hostile(hostile::run(&t, &shops).await);
    phase("export/import");
    report.backup(backup::round_trip(&stack, &t, &shops[0]).await);
    let used = report.used.clone();
    report.secrets(secrets::scan(&shops, &used));
    report.finish(started.elapsed());
    stack.shutdown().await;
    // Every call of every function ran under its IAM policy from template.yaml; a refused one
    // (in a background function too) is a defect AWS would show after deploying.
    mostrador_tests::assert_no_denials();
    let violations = report.violations();
    assert!(
        violations.is_empty(),
        "reliability violations:\n{}",
        violations.join("\n")
    );
}

/// `RELIABILITY=hostile`: only the hostile table, against one quiet shop (a few minutes, not the
/// whole suite), for changes to input handling.
async fn hostile_only() {
    let (stack, t, _root) = world::start().await;
    let shops = world::shops(&t, 1).await;
    let outcome = hostile::run(&t, &shops).await;
    stack.shutdown().await;
    let failures = outcome.failures();
    println!(
        "hostile cases: {} run, {} failed",
        outcome.outcomes.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{failures:#?}");
}
