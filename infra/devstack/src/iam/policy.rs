//! A function's IAM policy, read from its `Policies` in `template.yaml` and resolved to local
//! ARNs, and the evaluation IAM applies to one request.
//!
//! What this relies on (IAM User Guide, "Policy evaluation logic" and "IAM JSON policy
//! elements"): a request is allowed only if some `Allow` statement matches its action and
//! resource and no `Deny` statement does; action names are case-insensitive, resource ARNs are
//! case-sensitive; in both, `*` matches any run of characters (including none, `/` and `:`)
//! and `?` exactly one character.

use crate::provision::Physical;
use serde_norway::Value;

#[derive(Debug, thiserror::Error)]
#[error("{function}: Policies: {message}")]
pub struct PolicyError {
    pub function: String,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

#[derive(Clone, Debug)]
pub struct Statement {
    pub effect: Effect,
    pub actions: Vec<String>,
    /// Resolved resource patterns (local ARNs, possibly with wildcards).
    pub resources: Vec<String>,
}

/// The resolved statements of one function's role.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    pub statements: Vec<Statement>,
}

/// IAM's wildcard match: `*` any run of characters, `?` exactly one.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    // Greedy with backtracking to the last `*` (linear in practice for ARN-sized inputs).
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

impl Statement {
    fn matches(&self, action: &str, resource: &str) -> bool {
        self.actions
            .iter()
            .any(|a| wildcard_match(&a.to_ascii_lowercase(), &action.to_ascii_lowercase()))
            && self.resources.iter().any(|r| wildcard_match(r, resource))
    }
}

impl Policy {
    /// Whether IAM would allow `action` on `resource`: an explicit deny wins, otherwise an
    /// allow is needed (the default is deny).
    pub fn allows(&self, action: &str, resource: &str) -> bool {
        let matching = || {
            self.statements
                .iter()
                .filter(|s| s.matches(action, resource))
        };
        !matching().any(|s| s.effect == Effect::Deny)
            && matching().any(|s| s.effect == Effect::Allow)
    }

    /// Reads a function's `Policies` (the inline `Statement` form; SAM policy templates and
    /// managed policy names are refused rather than silently allowed) and resolves every
    /// `Resource` against the local resources.
    pub fn from_template(
        function: &str,
        policies: &Value,
        physical: &Physical,
    ) -> Result<Self, PolicyError> {
        let fail = |message: String| PolicyError {
            function: function.to_owned(),
            message,
        };
        let mut policy = Policy::default();
        let documents = match policies {
            Value::Null => return Ok(policy),
            Value::Sequence(items) => items.clone(),
            other => vec![other.clone()],
        };
        for document in &documents {
            let statements = document
                .get("Statement")
                .and_then(Value::as_sequence)
                .ok_or_else(|| {
                    fail("only inline `- Statement: [...]` documents are enforced locally".into())
                })?;
            for s in statements {
                for unsupported in ["NotAction", "NotResource", "Condition", "Principal"] {
                    if s.get(unsupported).is_some() {
                        return Err(fail(format!("{unsupported} is not enforced locally")));
                    }
                }
                let effect = match s.get("Effect").and_then(Value::as_str) {
                    Some("Allow") => Effect::Allow,
                    Some("Deny") => Effect::Deny,
                    other => return Err(fail(format!("Effect {other:?}"))),
                };
                let actions = list(s.get("Action"))
                    .iter()
                    .map(|a| a.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| fail("Action must be a string or a list of strings".into()))?;
                let resources = list(s.get("Resource"))
                    .iter()
                    .map(|r| physical.resolve(r).map_err(|e| fail(e.to_string())))
                    .collect::<Result<Vec<_>, _>>()?;
                if actions.is_empty() || resources.is_empty() {
                    return Err(fail("a statement needs Action and Resource".into()));
                }
                policy.statements.push(Statement {
                    effect,
                    actions,
                    resources,
                });
            }
        }
        Ok(policy)
    }
}

fn list(v: Option<&Value>) -> Vec<Value> {
    match v {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Sequence(items)) => items.clone(),
        Some(one) => vec![one.clone()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_follow_iam() {
        assert!(wildcard_match("*", "arn:aws:sqs:us-east-1:1:q"));
        assert!(wildcard_match(
            "arn:aws:dynamodb:*:*:table/t",
            "arn:aws:dynamodb:r:1:table/t"
        ));
        assert!(!wildcard_match(
            "arn:aws:dynamodb:r:1:table/t",
            "arn:aws:dynamodb:r:1:table/t/index/i"
        ));
        assert!(wildcard_match(
            "a/*/whatsapp-??????",
            "a/p1/whatsapp-Ab12Cd"
        ));
        assert!(!wildcard_match(
            "a/*/whatsapp-??????",
            "a/p1/whatsapp-Ab12C"
        ));
        assert!(!wildcard_match("a/*/whatsapp*", "a/p1/mercadopago-Ab12Cd"));
        assert!(wildcard_match("a*b*c", "a-b-b-c"));
        assert!(!wildcard_match("a*b*c", "a-b-b-d"));
        assert!(wildcard_match("", ""));
        assert!(!wildcard_match("", "x"));
    }

    fn policy(statements: Vec<(Effect, &[&str], &[&str])>) -> Policy {
        Policy {
            statements: statements
                .into_iter()
                .map(|(effect, a, r)| Statement {
                    effect,
                    actions: a.iter().map(|s| s.to_string()).collect(),
                    resources: r.iter().map(|s| s.to_string()).collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn default_deny_allow_and_explicit_deny() {
        let p = policy(vec![
            (Effect::Allow, &["dynamodb:*"], &["arn:t"]),
            (Effect::Deny, &["dynamodb:DeleteItem"], &["*"]),
        ]);
        assert!(p.allows("dynamodb:GetItem", "arn:t"));
        assert!(p.allows("DynamoDB:getitem", "arn:t"), "actions ignore case");
        assert!(!p.allows("dynamodb:GetItem", "arn:T"), "resources do not");
        assert!(
            !p.allows("dynamodb:DeleteItem", "arn:t"),
            "an explicit deny wins"
        );
        assert!(!p.allows("sqs:SendMessage", "arn:t"), "default deny");
    }
}
