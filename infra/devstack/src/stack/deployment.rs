//! Every function of `template.yaml` as Lambda would deploy it: its resolved environment, its
//! state (clients enforcing its IAM policy), and its event sources (gateway routes, SQS pollers,
//! schedules), which run as tasks until the stack shuts down.

use super::StackError;
use crate::gateway::RouteTarget;
use crate::pollers::Poller;
use crate::provision::{self, Physical, REGION};
use crate::template::Template;
use aws_config::SdkConfig;
use mostrador::functions::{self, Entry};
use mostrador::runtime::ScheduleHandler;
use mostrador::state::Endpoints;
use mostrador::{AppState, Clock, Config};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A scheduled function's timer: binary, period, state, handler.
type Timer = (String, Duration, &'static AppState, ScheduleHandler);

pub(super) struct Deployment {
    /// Each function's state, by binary.
    pub states: BTreeMap<String, &'static AppState>,
    /// Each function's resolved environment, by binary.
    pub env: BTreeMap<String, BTreeMap<String, String>>,
    pub targets: Vec<RouteTarget>,
    pub pollers: Vec<Poller>,
    /// Scheduled functions by binary (`POST /_local/schedules/{binary}/run`).
    pub schedules: BTreeMap<String, (&'static AppState, ScheduleHandler)>,
    pub timers: Vec<Timer>,
}

impl Deployment {
    pub fn build(
        template: &Template,
        physical: &Physical,
        sdk: &SdkConfig,
        endpoints: &Endpoints,
        clock: &Clock,
    ) -> Result<Self, StackError> {
        // Each function's clients enforce its IAM policy (the admin clients of `aws.rs` stand in
        // for CloudFormation and Lambda's event source mappings, which have their own roles).
        let mut enforcers =
            crate::iam::Enforcer::for_template(template, physical, REGION, provision::ACCOUNT)?;
        let mut states = BTreeMap::new();
        let mut env = BTreeMap::new();
        let mut targets = Vec::new();
        let mut pollers = Vec::new();
        let mut schedules = BTreeMap::new();
        let mut timers = Vec::new();
        for function in &template.functions {
            let fail = |message: String| StackError::Function {
                function: function.binary.clone(),
                message,
            };
            let mut raw = template.global_env.clone();
            raw.extend(function.env.clone());
            let mut resolved = BTreeMap::new();
            for (name, value) in &raw {
                resolved.insert(name.clone(), physical.resolve(value)?);
            }
            let config = Config::from_lookup(|k| resolved.get(k).cloned())
                .map_err(|e| fail(e.to_string()))?;
            let endpoints = Endpoints {
                interceptor: enforcers.remove(&function.binary),
                ..endpoints.clone()
            };
            let state: &'static AppState = Box::leak(Box::new(AppState::new(
                config,
                sdk,
                &endpoints,
                clock.clone(),
            )));
            let entry = functions::lookup(&function.binary).ok_or_else(|| {
                fail("template.yaml declares it but mostrador::functions has no entry".into())
            })?;
            match entry {
                Entry::Http { handler, .. } => {
                    for route in &function.routes {
                        targets.push(RouteTarget {
                            route: route.clone(),
                            function: function.binary.clone(),
                            state,
                            handler,
                        });
                    }
                }
                Entry::Schedule(handler) => {
                    for schedule in &function.schedules {
                        let every =
                            crate::template::rate(&schedule.expression).ok_or_else(|| {
                                fail(format!("unsupported schedule {}", schedule.expression))
                            })?;
                        timers.push((function.binary.clone(), every, state, handler));
                    }
                    schedules.insert(function.binary.clone(), (state, handler));
                }
                Entry::Sqs(handler) => {
                    for source in &function.sqs_sources {
                        let (url, arn, _) = physical
                            .queues
                            .get(&source.queue_logical_id)
                            .cloned()
                            .ok_or_else(|| {
                                fail(format!("unknown queue {}", source.queue_logical_id))
                            })?;
                        pollers.push(Poller {
                            function: function.binary.clone(),
                            source: source.clone(),
                            queue_url: url,
                            queue_arn: arn,
                            state,
                            handler,
                        });
                    }
                }
            }
            states.insert(function.binary.clone(), state);
            env.insert(function.binary.clone(), resolved);
        }
        Ok(Self {
            states,
            env,
            targets,
            pollers,
            schedules,
            timers,
        })
    }

    /// The operator's own tools (`mostrador-admin`: export/import, direct fixes) run with the
    /// operator's credentials, not a function's role: the same configuration as the admin
    /// function, no IAM enforcement.
    pub fn operator_state(
        &self,
        sdk: &SdkConfig,
        endpoints: &Endpoints,
        clock: &Clock,
    ) -> Result<&'static AppState, StackError> {
        let operator_env = self.env.get("admin").cloned().unwrap_or_default();
        let operator_config =
            Config::from_lookup(|k| operator_env.get(k).cloned()).map_err(|e| {
                StackError::Function {
                    function: "admin".into(),
                    message: e.to_string(),
                }
            })?;
        Ok(Box::leak(Box::new(AppState::new(
            operator_config,
            sdk,
            endpoints,
            clock.clone(),
        ))))
    }
}

/// The SQS pollers (each at its concurrency) and the schedules' timers, until `shutdown`.
pub(super) fn spawn_event_sources(
    pollers: Vec<Poller>,
    timers: Vec<Timer>,
    shutdown_rx: &watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    for poller in pollers {
        for _ in 0..poller.concurrency() {
            tasks.push(tokio::spawn(poller.clone().run(shutdown_rx.clone())));
        }
    }
    for (binary, every, state, handler) in timers {
        let mut stop = shutdown_rx.clone();
        tasks.push(tokio::spawn(async move {
            let mut interval = tokio::time::interval(every);
            interval.tick().await;
            loop {
                tokio::select! {
                    _ = interval.tick() => {
                        if let Err(e) = handler(state).await {
                            tracing::warn!(function = %binary, error = %e, "scheduled run failed");
                        }
                    }
                    _ = stop.changed() => return,
                }
            }
        }));
    }
    tasks
}
