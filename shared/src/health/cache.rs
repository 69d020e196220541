//! Warm-container cache of component checks. `/health` is public and unauthenticated, and the
//! Secrets Manager probe (`GetRandomPassword`) is billed per call: each component is probed at
//! most once per [`TTL`] per container, and concurrent hits wait for the one probe in flight
//! instead of starting their own.
//!
//! Staleness bound: a reported status comes from a probe started at most [`TTL`] ago, so an
//! outage turns health 503 within `TTL + HEALTH_TIMEOUT_MS` of its start (and a recovery
//! turns it 200 within the same bound).

use super::{Component, ComponentHealth};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How long one probe's result answers for its component.
pub const TTL: Duration = Duration::from_secs(5);

#[derive(Debug, Default)]
pub struct HealthCache {
    /// Per component: when the cached probe started, and what it found.
    slots: [Mutex<Option<(Instant, ComponentHealth)>>; Component::ALL.len()],
    /// Per component: probes actually run (so tests can see what the cache saved).
    probes: [AtomicU64; Component::ALL.len()],
}

impl HealthCache {
    /// The cached result of `component` if fresh, else the result of running `probe` (once,
    /// however many callers are waiting).
    pub async fn get_or_probe<F>(&self, component: Component, probe: F) -> ComponentHealth
    where
        F: std::future::Future<Output = ComponentHealth>,
    {
        let i = index(component);
        // Held across the probe: callers arriving meanwhile wait here and then read its result.
        let mut slot = self.slots[i].lock().await;
        if let Some((started, health)) = slot.as_ref() {
            if started.elapsed() < TTL {
                return health.clone();
            }
        }
        let started = Instant::now();
        self.probes[i].fetch_add(1, Ordering::Relaxed);
        let health = probe.await;
        *slot = Some((started, health.clone()));
        health
    }

    /// How many probes of `component` this container has run.
    pub fn probes(&self, component: Component) -> u64 {
        self.probes[index(component)].load(Ordering::Relaxed)
    }
}

fn index(component: Component) -> usize {
    Component::ALL
        .iter()
        .position(|c| *c == component)
        .unwrap_or_default()
}
