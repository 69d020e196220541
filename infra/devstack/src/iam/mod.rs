//! Local IAM enforcement: DynamoDB Local and moto authorize nothing, so a function whose
//! policy in `template.yaml` lacks an action would pass every local test and fail in AWS.
//!
//! The local stack gives each function's SDK clients an [`Enforcer`] (through
//! `Endpoints::interceptor`; deployed functions have none). Before a request is sent it
//! computes the action(s) and resource ARN(s) AWS would authorize ([`requests`]) and checks them
//! against the function's resolved `Policies` ([`policy`]); a request any of them is not
//! allowed for fails with [`AccessDenied`] and never reaches the emulator. Every decision is
//! recorded in a process-wide [registry](decisions) the tests read: a denial anywhere fails
//! the suite (see `tests/src/lib.rs`), naming the function, action, resource and the
//! statement to add.

pub mod policy;
pub mod requests;

use crate::provision::Physical;
use crate::template::Template;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::{Intercept, SharedInterceptor};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
pub use policy::{Policy, PolicyError};
pub use requests::{Arns, Need};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

/// One authorization the local stack decided.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Decision {
    /// The function's logical id in `template.yaml` (`RetrySweeperFunction`).
    pub function: String,
    /// Its binary (`retry-sweeper`).
    pub binary: String,
    /// The SDK operation (`UpdateItem`).
    pub operation: String,
    pub action: String,
    pub resource: String,
    pub allowed: bool,
}

#[derive(Clone, Debug)]
pub struct Seen {
    pub count: u64,
    /// For a denial: the statement to add to the function's `Policies`.
    pub fix: Option<String>,
}

fn registry() -> &'static Mutex<BTreeMap<Decision, Seen>> {
    static REGISTRY: OnceLock<Mutex<BTreeMap<Decision, Seen>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// Every decision of every local stack of this process so far, with how often it was made.
pub fn decisions() -> Vec<(Decision, Seen)> {
    registry()
        .lock()
        .map(|r| r.iter().map(|(d, s)| (d.clone(), s.clone())).collect())
        .unwrap_or_default()
}

/// The denials so far, each explained (function, action, resource, statement to add); `None`
/// when there were none.
pub fn denial_report() -> Option<String> {
    let denied: Vec<_> = decisions()
        .into_iter()
        .filter(|(d, _)| !d.allowed)
        .collect();
    if denied.is_empty() {
        return None;
    }
    let mut out = format!(
        "{} request(s) were refused by the IAM policies of template.yaml (they would fail in AWS):\n",
        denied.len()
    );
    for (d, seen) in denied {
        out.push_str(&format!(
            "\n- {} ({}) {} → {} on {} ({}×)\n  add to {}.Properties.Policies[0].Statement in template.yaml:\n{}\n",
            d.function,
            d.binary,
            d.operation,
            d.action,
            d.resource,
            seen.count,
            d.function,
            seen.fix.unwrap_or_default()
        ));
    }
    Some(out)
}

fn record(decision: Decision, fix: Option<String>) {
    if let Ok(mut r) = registry().lock() {
        r.entry(decision)
            .and_modify(|s| s.count += 1)
            .or_insert(Seen { count: 1, fix });
    }
}

/// The error a refused request fails with (AWS answers `AccessDeniedException`; the SDK
/// reports this one as a construction failure, since nothing was sent).
#[derive(Debug, thiserror::Error)]
#[error("AccessDenied: User: arn:aws:sts::{account}:assumed-role/{function}Role/{binary} is not authorized to perform: {action} on resource: {resource} because no identity-based policy allows the {action} action (local IAM enforcement of template.yaml)")]
pub struct AccessDenied {
    pub account: String,
    pub function: String,
    pub binary: String,
    pub action: String,
    pub resource: String,
}

/// Turns a local ARN back into the template expression that names it, for the suggested fix.
#[derive(Clone, Debug, Default)]
struct Names {
    /// local ARN prefix → template expression (`!GetAtt Table.Arn`)
    arns: Vec<(String, String)>,
    /// resolved `SECRETS_PREFIX`-style prefix of the secrets' names and how the template writes it
    secret_prefix: Option<(String, String)>,
}

impl Names {
    fn new(physical: &Physical, arns: &Arns) -> Self {
        let mut names = Names::default();
        for (logical, table) in &physical.tables {
            names
                .arns
                .push((arns.table(table), format!("${{{logical}.Arn}}")));
        }
        for (logical, (_, arn, _)) in &physical.queues {
            names
                .arns
                .push((arn.clone(), format!("${{{logical}.Arn}}")));
        }
        // Longest first, so an index ARN is not mistaken for its table's.
        names
            .arns
            .sort_by_key(|(arn, _)| std::cmp::Reverse(arn.len()));
        if let Some(Some(stage)) = physical.parameters.get("Stage") {
            names.secret_prefix =
                Some((format!("mostrador/{stage}/"), "mostrador/${Stage}/".into()));
        }
        names
    }

    fn resource(&self, arn: &str) -> String {
        if arn == "*" {
            return "\"*\"".into();
        }
        for (local, expr) in &self.arns {
            if arn == local {
                return format!(
                    "!GetAtt {}",
                    expr.trim_start_matches("${").trim_end_matches('}')
                );
            }
            if let Some(rest) = arn.strip_prefix(local.as_str()) {
                return format!("!Sub {expr}{rest}");
            }
        }
        if let Some((_, name)) = arn.split_once(":secret:") {
            // mostrador/<stage>/projects/<id>/<provider>[-XXXXXX] → …/projects/*/<provider>*
            let mut name = name.to_owned();
            if let Some((local, template)) = &self.secret_prefix {
                if let Some(rest) = name.strip_prefix(local.as_str()) {
                    name = format!("{template}{rest}");
                }
            }
            let parts: Vec<&str> = name.split('/').collect();
            let generic: Vec<String> = parts
                .iter()
                .enumerate()
                .map(|(i, p)| match i.checked_sub(1).and_then(|j| parts.get(j)) {
                    Some(&"projects") => "*".to_owned(),
                    _ => p.to_string(),
                })
                .collect();
            let mut generic = generic.join("/");
            if let Some((base, suffix)) = generic.rsplit_once('-') {
                if suffix.len() == 6 {
                    generic = base.to_owned();
                }
            }
            return format!(
                "!Sub arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:{generic}*"
            );
        }
        arn.to_owned()
    }

    fn fix(&self, action: &str, resource: &str) -> String {
        format!(
            "            - Effect: Allow\n              Action: {action}\n              Resource: {}",
            self.resource(resource)
        )
    }
}

/// The interceptor enforcing one function's policy.
#[derive(Clone, Debug)]
pub struct Enforcer {
    function: String,
    binary: String,
    policy: Arc<Policy>,
    arns: Arns,
    names: Arc<Names>,
}

impl Enforcer {
    /// The enforcer of every function of `template`, by binary.
    pub fn for_template(
        template: &Template,
        physical: &Physical,
        region: &str,
        account: &str,
    ) -> Result<BTreeMap<String, SharedInterceptor>, PolicyError> {
        let arns = Arns {
            region: region.to_owned(),
            account: account.to_owned(),
            secrets: Default::default(),
        };
        for arn in physical.secrets.values() {
            if let Some((_, name)) = arn.split_once(":secret:") {
                let name = name.rsplit_once('-').map_or(name, |(n, _)| n);
                arns.remember_secret(name, arn);
            }
        }
        let names = Arc::new(Names::new(physical, &arns));
        let mut out = BTreeMap::new();
        for f in &template.functions {
            let mut policy = Policy::from_template(&f.logical_id, &f.policies, physical)?;
            if !f.sqs_sources.is_empty() {
                // SAM attaches the managed policy AWSLambdaSQSQueueExecutionRole to the role of a
                // function with an SQS event (aws/serverless-application-model#2118): the event
                // source mapping polls with the function's role. Its SQS part, as published:
                // ReceiveMessage, DeleteMessage, GetQueueAttributes on "*" (not
                // ChangeMessageVisibility: a function that calls it must be granted it).
                policy.statements.push(policy::Statement {
                    effect: policy::Effect::Allow,
                    actions: [
                        "sqs:ReceiveMessage",
                        "sqs:DeleteMessage",
                        "sqs:GetQueueAttributes",
                    ]
                    .map(str::to_owned)
                    .to_vec(),
                    resources: vec!["*".to_owned()],
                });
            }
            let enforcer = Enforcer {
                function: f.logical_id.clone(),
                binary: f.binary.clone(),
                policy: Arc::new(policy),
                arns: arns.clone(),
                names: names.clone(),
            };
            out.insert(f.binary.clone(), SharedInterceptor::new(enforcer));
        }
        Ok(out)
    }

    /// Decides (and records) one request; `Err` names the first need that is not allowed.
    pub fn authorize(&self, operation: &str, needs: &[Need]) -> Result<(), AccessDenied> {
        let mut refused = None;
        for n in needs {
            let allowed = self.policy.allows(&n.action, &n.resource);
            let fix = (!allowed).then(|| self.names.fix(&n.action, &n.resource));
            record(
                Decision {
                    function: self.function.clone(),
                    binary: self.binary.clone(),
                    operation: operation.to_owned(),
                    action: n.action.clone(),
                    resource: n.resource.clone(),
                    allowed,
                },
                fix,
            );
            if !allowed && refused.is_none() {
                refused = Some(n.clone());
            }
        }
        match refused {
            None => Ok(()),
            Some(n) => {
                let denied = AccessDenied {
                    account: self.arns.account.clone(),
                    function: self.function.clone(),
                    binary: self.binary.clone(),
                    action: n.action,
                    resource: n.resource,
                };
                tracing::error!(target: "mostrador::iam", function = %self.function, error = %denied, "request refused by the function's IAM policy");
                Err(denied)
            }
        }
    }
}

impl Intercept for Enforcer {
    fn name(&self) -> &'static str {
        "MostradorLocalIam"
    }

    // Not `read_before_execution`: client-level interceptors run that before the operation
    // has stored its `Metadata`. Serialization happens once, before the retry loop.
    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(meta) = cfg.load::<Metadata>() else {
            return Err("local IAM: the request has no operation metadata".into());
        };
        let needs = requests::needs(meta.service(), meta.name(), context.input(), &self.arns);
        self.authorize(meta.name(), &needs)?;
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let (Some(meta), Some(Ok(output))) = (cfg.load::<Metadata>(), context.output_or_error())
        {
            requests::learn(meta.service(), output, &self.arns);
        }
        Ok(())
    }
}

#[cfg(test)]
mod template_tests;
