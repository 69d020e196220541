//! Reads `template.yaml`: the one source of truth for tables, queues, secrets, functions,
//! routes and event sources, in the cloud and locally.

use serde_norway::Value;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("template.yaml is not valid YAML: {0}")]
    Yaml(#[from] serde_norway::Error),
    #[error("template.yaml: {0}")]
    Invalid(String),
}

fn invalid(msg: impl Into<String>) -> TemplateError {
    TemplateError::Invalid(msg.into())
}

#[derive(Debug, Clone)]
pub struct Template {
    pub parameters: BTreeMap<String, Option<String>>,
    pub global_env: BTreeMap<String, Value>,
    pub tables: Vec<Table>,
    pub queues: Vec<Queue>,
    pub secrets: Vec<Secret>,
    pub functions: Vec<Function>,
    /// SNS topics (logical ids).
    pub topics: Vec<String>,
    pub subscriptions: Vec<Subscription>,
    pub configuration_sets: Vec<ConfigurationSet>,
}

/// An `AWS::SNS::Subscription` of an SQS queue to a topic.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub topic_logical_id: String,
    pub queue_logical_id: String,
    pub raw_message_delivery: bool,
}

/// An `AWS::SES::ConfigurationSet` and its SNS event destinations.
#[derive(Debug, Clone)]
pub struct ConfigurationSet {
    pub logical_id: String,
    pub name: Value,
    /// (topic logical id, lower-case event types such as `bounce`)
    pub sns_destinations: Vec<(String, Vec<String>)>,
}

#[derive(Debug, Clone)]
pub struct Table {
    pub logical_id: String,
    pub attributes: Vec<(String, String)>,
    pub key_schema: Vec<(String, String)>,
    pub gsis: Vec<Gsi>,
    pub ttl_attribute: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Gsi {
    pub name: String,
    pub key_schema: Vec<(String, String)>,
    pub projection: String,
    pub non_key_attributes: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Queue {
    pub logical_id: String,
    pub visibility_timeout: Option<u32>,
    pub retention: Option<u32>,
    pub delay: Option<u32>,
    /// (dead-letter queue logical id, maxReceiveCount)
    pub redrive: Option<(String, u32)>,
}

#[derive(Debug, Clone)]
pub struct Secret {
    pub logical_id: String,
    pub name: Value,
    pub secret_string: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Function {
    pub logical_id: String,
    /// `Metadata.BuildProperties.Binary`: the cargo binary, i.e. `functions/<binary>`.
    pub binary: String,
    pub env: BTreeMap<String, Value>,
    pub routes: Vec<Route>,
    pub sqs_sources: Vec<SqsSource>,
    pub schedules: Vec<Schedule>,
    /// `Properties.Policies` as written (the local stack enforces them, see `iam`).
    pub policies: Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// `GET /health/{component}`, or `$default`.
    pub route_key: String,
    pub method: String,
    pub path: String,
    /// `AWS_IAM` where the route is IAM-protected.
    pub authorizer: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SqsSource {
    pub queue_logical_id: String,
    pub batch_size: u32,
    pub batching_window_s: u32,
    pub report_batch_item_failures: bool,
    /// `ScalingConfig.MaximumConcurrency`: how many invocations may run at once (the local
    /// poller runs that many polling loops; without it, one).
    pub maximum_concurrency: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct Schedule {
    pub expression: String,
}

impl Template {
    pub fn load(path: &Path) -> Result<Self, TemplateError> {
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let doc: Value = serde_norway::from_str(text)?;
        let resources = doc
            .get("Resources")
            .and_then(Value::as_mapping)
            .ok_or_else(|| invalid("no Resources"))?;
        let mut template = Template {
            parameters: BTreeMap::new(),
            global_env: env_map(doc.get("Globals").and_then(|g| g.get("Function"))),
            tables: Vec::new(),
            queues: Vec::new(),
            secrets: Vec::new(),
            functions: Vec::new(),
            topics: Vec::new(),
            subscriptions: Vec::new(),
            configuration_sets: Vec::new(),
        };
        if let Some(params) = doc.get("Parameters").and_then(Value::as_mapping) {
            for (name, spec) in params {
                let name = name.as_str().unwrap_or_default().to_owned();
                let default = spec.get("Default").and_then(scalar);
                template.parameters.insert(name, default);
            }
        }
        for (id, resource) in resources {
            let id = id
                .as_str()
                .ok_or_else(|| invalid("resource id is not a string"))?
                .to_owned();
            let kind = resource
                .get("Type")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let props = resource.get("Properties").cloned().unwrap_or(Value::Null);
            match kind {
                "AWS::DynamoDB::Table" => template.tables.push(table(&id, &props)?),
                "AWS::SQS::Queue" => template.queues.push(queue(&id, &props)?),
                "AWS::SecretsManager::Secret" => template.secrets.push(Secret {
                    logical_id: id.clone(),
                    name: props.get("Name").cloned().unwrap_or(Value::Null),
                    secret_string: props.get("SecretString").and_then(scalar),
                }),
                "AWS::Serverless::Function" => {
                    template.functions.push(function(&id, resource, &props)?)
                }
                "AWS::SNS::Topic" => template.topics.push(id.clone()),
                "AWS::SNS::Subscription" => template.subscriptions.push(subscription(&id, &props)?),
                "AWS::SES::ConfigurationSet" => {
                    template.configuration_sets.push(ConfigurationSet {
                        logical_id: id.clone(),
                        name: props.get("Name").cloned().unwrap_or(Value::Null),
                        sns_destinations: Vec::new(),
                    })
                }
                _ => {}
            }
        }
        // Event destinations name their configuration set, which may come later in the file.
        for (id, resource) in resources {
            if resource.get("Type").and_then(Value::as_str)
                != Some("AWS::SES::ConfigurationSetEventDestination")
            {
                continue;
            }
            let id = id.as_str().unwrap_or_default();
            let props = resource.get("Properties").cloned().unwrap_or(Value::Null);
            let (set, destination) = event_destination(id, &props)?;
            template
                .configuration_sets
                .iter_mut()
                .find(|c| c.logical_id == set)
                .ok_or_else(|| invalid(format!("{id}: unknown configuration set {set}")))?
                .sns_destinations
                .push(destination);
        }
        Ok(template)
    }

    pub fn function_by_binary(&self, binary: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.binary == binary)
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn env_map(function: Option<&Value>) -> BTreeMap<String, Value> {
    function
        .and_then(|f| f.get("Environment"))
        .and_then(|e| e.get("Variables"))
        .and_then(Value::as_mapping)
        .map(|vars| {
            vars.iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.clone())))
                .collect()
        })
        .unwrap_or_default()
}

fn str_pairs(list: Option<&Value>, a: &str, b: &str) -> Vec<(String, String)> {
    list.and_then(Value::as_sequence)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| {
                    Some((
                        i.get(a)?.as_str()?.to_owned(),
                        i.get(b)?.as_str()?.to_owned(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn table(id: &str, props: &Value) -> Result<Table, TemplateError> {
    let key_schema = str_pairs(props.get("KeySchema"), "AttributeName", "KeyType");
    if key_schema.is_empty() {
        return Err(invalid(format!("table {id} has no KeySchema")));
    }
    let gsis = props
        .get("GlobalSecondaryIndexes")
        .and_then(Value::as_sequence)
        .map(|list| {
            list.iter()
                .map(|g| Gsi {
                    name: g
                        .get("IndexName")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    key_schema: str_pairs(g.get("KeySchema"), "AttributeName", "KeyType"),
                    projection: g
                        .get("Projection")
                        .and_then(|p| p.get("ProjectionType"))
                        .and_then(Value::as_str)
                        .unwrap_or("ALL")
                        .to_owned(),
                    non_key_attributes: g
                        .get("Projection")
                        .and_then(|p| p.get("NonKeyAttributes"))
                        .and_then(Value::as_sequence)
                        .map(|a| a.iter().filter_map(scalar).collect())
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    let ttl = props.get("TimeToLiveSpecification");
    let ttl_attribute = ttl
        .filter(|t| t.get("Enabled").and_then(Value::as_bool).unwrap_or(false))
        .and_then(|t| t.get("AttributeName"))
        .and_then(scalar);
    Ok(Table {
        logical_id: id.to_owned(),
        attributes: str_pairs(
            props.get("AttributeDefinitions"),
            "AttributeName",
            "AttributeType",
        ),
        key_schema,
        gsis,
        ttl_attribute,
    })
}

fn number(v: Option<&Value>) -> Option<u32> {
    v.and_then(scalar).and_then(|s| s.parse().ok())
}

fn queue(id: &str, props: &Value) -> Result<Queue, TemplateError> {
    let redrive = match props.get("RedrivePolicy") {
        None => None,
        Some(policy) => {
            let target = policy
                .get("deadLetterTargetArn")
                .and_then(getatt_target)
                .ok_or_else(|| {
                    invalid(format!(
                        "queue {id}: deadLetterTargetArn must be !GetAtt <Queue>.Arn"
                    ))
                })?;
            let max = number(policy.get("maxReceiveCount"))
                .ok_or_else(|| invalid(format!("queue {id}: maxReceiveCount missing")))?;
            Some((target, max))
        }
    };
    Ok(Queue {
        logical_id: id.to_owned(),
        visibility_timeout: number(props.get("VisibilityTimeout")),
        retention: number(props.get("MessageRetentionPeriod")),
        delay: number(props.get("DelaySeconds")),
        redrive,
    })
}

/// The logical id in `!Ref X` / `{Ref: X}`.
fn ref_target(v: &Value) -> Option<String> {
    match intrinsic(v)? {
        ("Ref", Value::String(s)) => Some(s.clone()),
        _ => None,
    }
}

fn subscription(id: &str, props: &Value) -> Result<Subscription, TemplateError> {
    let protocol = props.get("Protocol").and_then(Value::as_str);
    if protocol != Some("sqs") {
        return Err(invalid(format!(
            "subscription {id}: only the sqs protocol runs locally"
        )));
    }
    Ok(Subscription {
        topic_logical_id: props
            .get("TopicArn")
            .and_then(ref_target)
            .ok_or_else(|| invalid(format!("subscription {id}: TopicArn must be !Ref <Topic>")))?,
        queue_logical_id: props
            .get("Endpoint")
            .and_then(getatt_target)
            .ok_or_else(|| {
                invalid(format!(
                    "subscription {id}: Endpoint must be !GetAtt <Queue>.Arn"
                ))
            })?,
        raw_message_delivery: props
            .get("RawMessageDelivery")
            .and_then(scalar)
            .is_some_and(|v| v == "true"),
    })
}

fn event_destination(
    id: &str,
    props: &Value,
) -> Result<(String, (String, Vec<String>)), TemplateError> {
    let set = props
        .get("ConfigurationSetName")
        .and_then(ref_target)
        .ok_or_else(|| invalid(format!("{id}: ConfigurationSetName must be !Ref <Set>")))?;
    let destination = props
        .get("EventDestination")
        .cloned()
        .unwrap_or(Value::Null);
    let topic = destination
        .get("SnsDestination")
        .and_then(|d| d.get("TopicARN"))
        .and_then(ref_target)
        .ok_or_else(|| {
            invalid(format!(
                "{id}: only SnsDestination.TopicARN: !Ref <Topic> runs locally"
            ))
        })?;
    let types = destination
        .get("MatchingEventTypes")
        .and_then(Value::as_sequence)
        .map(|t| {
            t.iter()
                .filter_map(scalar)
                .map(|s| s.to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default();
    Ok((set, (topic, types)))
}

/// The logical id in `!GetAtt X.Arn` / `Fn::GetAtt: [X, Arn]`.
fn getatt_target(v: &Value) -> Option<String> {
    match intrinsic(v)? {
        ("GetAtt", Value::String(s)) => s.split('.').next().map(str::to_owned),
        ("GetAtt", Value::Sequence(parts)) => {
            parts.first().and_then(Value::as_str).map(str::to_owned)
        }
        _ => None,
    }
}

/// Splits a CloudFormation intrinsic in either form (`!Ref X` or `{Ref: X}`) into its name
/// (`Ref`, `GetAtt`, `Sub`, …) and argument.
pub fn intrinsic(v: &Value) -> Option<(&str, &Value)> {
    match v {
        Value::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let name = match name {
                "Ref" => "Ref",
                "GetAtt" => "GetAtt",
                "Sub" => "Sub",
                "If" => "If",
                "Join" => "Join",
                _ => return None,
            };
            Some((name, &tagged.value))
        }
        Value::Mapping(m) if m.len() == 1 => {
            let (k, arg) = m.iter().next()?;
            let name = k.as_str()?;
            let name = name.strip_prefix("Fn::").unwrap_or(name);
            matches!(name, "Ref" | "GetAtt" | "Sub" | "If" | "Join").then_some((name, arg))
        }
        _ => None,
    }
}

fn function(id: &str, resource: &Value, props: &Value) -> Result<Function, TemplateError> {
    let binary = resource
        .get("Metadata")
        .and_then(|m| m.get("BuildProperties"))
        .and_then(|b| b.get("Binary"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            invalid(format!(
                "function {id} has no Metadata.BuildProperties.Binary"
            ))
        })?
        .to_owned();
    let mut function = Function {
        logical_id: id.to_owned(),
        binary,
        env: env_map(Some(props)),
        routes: Vec::new(),
        sqs_sources: Vec::new(),
        schedules: Vec::new(),
        policies: props.get("Policies").cloned().unwrap_or(Value::Null),
    };
    let events = props.get("Events").and_then(Value::as_mapping);
    for (name, event) in events.into_iter().flatten() {
        let name = name.as_str().unwrap_or_default();
        let kind = event
            .get("Type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let ep = event.get("Properties").cloned().unwrap_or(Value::Null);
        match kind {
            "HttpApi" => {
                let method = ep
                    .get("Method")
                    .and_then(Value::as_str)
                    .map(str::to_ascii_uppercase);
                let path = ep.get("Path").and_then(Value::as_str).map(str::to_owned);
                let authorizer = ep
                    .get("Auth")
                    .and_then(|a| a.get("Authorizer"))
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                let route = match (method, path) {
                    (None, None) => Route {
                        route_key: "$default".into(),
                        method: "ANY".into(),
                        path: String::new(),
                        authorizer,
                    },
                    (Some(m), Some(p)) => Route {
                        route_key: format!("{m} {p}"),
                        method: m,
                        path: p,
                        authorizer,
                    },
                    _ => {
                        return Err(invalid(format!(
                            "function {id} event {name}: give both Path and Method, or neither"
                        )))
                    }
                };
                function.routes.push(route);
            }
            "SQS" => {
                let queue = ep.get("Queue").and_then(getatt_target).ok_or_else(|| {
                    invalid(format!(
                        "function {id} event {name}: Queue must be !GetAtt <Queue>.Arn"
                    ))
                })?;
                let report = ep
                    .get("FunctionResponseTypes")
                    .and_then(Value::as_sequence)
                    .is_some_and(|t| {
                        t.iter()
                            .any(|v| v.as_str() == Some("ReportBatchItemFailures"))
                    });
                function.sqs_sources.push(SqsSource {
                    queue_logical_id: queue,
                    batch_size: number(ep.get("BatchSize")).unwrap_or(10),
                    batching_window_s: number(ep.get("MaximumBatchingWindowInSeconds"))
                        .unwrap_or(0),
                    report_batch_item_failures: report,
                    maximum_concurrency: number(
                        ep.get("ScalingConfig")
                            .and_then(|c| c.get("MaximumConcurrency")),
                    ),
                });
            }
            "Schedule" | "ScheduleV2" => {
                let expression = ep
                    .get("Schedule")
                    .or_else(|| ep.get("ScheduleExpression"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        invalid(format!(
                            "function {id} event {name}: no schedule expression"
                        ))
                    })?;
                function.schedules.push(Schedule {
                    expression: expression.to_owned(),
                });
            }
            other => {
                return Err(invalid(format!(
                    "function {id} event {name}: event type {other} is not supported locally"
                )))
            }
        }
    }
    Ok(function)
}

/// The period of an EventBridge `rate(…)` expression (`cron(…)` is not run locally).
pub fn rate(expression: &str) -> Option<std::time::Duration> {
    let inner = expression.strip_prefix("rate(")?.strip_suffix(')')?;
    let (n, unit) = inner.trim().split_once(' ')?;
    let n: u64 = n.parse().ok().filter(|n| *n > 0)?;
    let seconds = match unit.trim() {
        "minute" | "minutes" => 60,
        "hour" | "hours" => 3600,
        "day" | "days" => 86_400,
        _ => return None,
    };
    Some(std::time::Duration::from_secs(n * seconds))
}

#[cfg(test)]
mod tests {
    #[test]
    fn rates_parse() {
        assert_eq!(
            super::rate("rate(5 minutes)"),
            Some(std::time::Duration::from_secs(300))
        );
        assert_eq!(
            super::rate("rate(1 hour)"),
            Some(std::time::Duration::from_secs(3600))
        );
        assert_eq!(super::rate("cron(0 * * * ? *)"), None);
        assert_eq!(super::rate("rate(0 minutes)"), None);
    }

    use super::*;

    const SAMPLE: &str = r#"
Parameters:
  LogLevel: {Type: String, Default: debug}
Globals:
  Function:
    Environment:
      Variables:
        TABLE_NAME: !Ref Table
        LOG_LEVEL: !Ref LogLevel
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      TimeToLiveSpecification: {AttributeName: expires_at, Enabled: true}
  Q:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 180
      RedrivePolicy: {deadLetterTargetArn: !GetAtt Dlq.Arn, maxReceiveCount: 4}
  Dlq: {Type: AWS::SQS::Queue}
  Fn:
    Type: AWS::Serverless::Function
    Metadata: {BuildMethod: rust-cargolambda, BuildProperties: {Binary: worker}}
    Properties:
      Events:
        Get: {Type: HttpApi, Properties: {Path: "/x/{id}", Method: get}}
        Any: {Type: HttpApi, Properties: {ApiId: !Ref Api}}
        Work:
          Type: SQS
          Properties: {Queue: !GetAtt Q.Arn, BatchSize: 5, ScalingConfig: {MaximumConcurrency: 3}, FunctionResponseTypes: [ReportBatchItemFailures]}
"#;

    #[test]
    fn reads_resources_routes_and_sources() {
        let t = Template::parse(SAMPLE).unwrap();
        assert_eq!(t.parameters["LogLevel"].as_deref(), Some("debug"));
        assert_eq!(t.tables[0].ttl_attribute.as_deref(), Some("expires_at"));
        let q = t.queues.iter().find(|q| q.logical_id == "Q").unwrap();
        assert_eq!(q.redrive, Some(("Dlq".into(), 4)));
        let f = t.function_by_binary("worker").unwrap();
        let keys: Vec<_> = f.routes.iter().map(|r| r.route_key.as_str()).collect();
        assert_eq!(keys, ["GET /x/{id}", "$default"]);
        assert_eq!(f.sqs_sources[0].batch_size, 5);
        assert!(f.sqs_sources[0].report_batch_item_failures);
        assert_eq!(f.sqs_sources[0].maximum_concurrency, Some(3));
        assert!(t.global_env.contains_key("TABLE_NAME"));
    }

    const EMAIL_EVENTS: &str = r#"
Resources:
  Dest:
    Type: AWS::SES::ConfigurationSetEventDestination
    Properties:
      ConfigurationSetName: !Ref Set
      EventDestination:
        MatchingEventTypes: [BOUNCE, complaint]
        SnsDestination: {TopicARN: !Ref Topic}
  Set: {Type: AWS::SES::ConfigurationSet, Properties: {Name: !Sub "m-${Stage}"}}
  Topic: {Type: AWS::SNS::Topic}
  Sub:
    Type: AWS::SNS::Subscription
    Properties: {TopicArn: !Ref Topic, Protocol: sqs, Endpoint: !GetAtt Q.Arn}
  Q: {Type: AWS::SQS::Queue}
"#;

    #[test]
    fn reads_topics_subscriptions_and_configuration_sets() {
        let t = Template::parse(EMAIL_EVENTS).unwrap();
        assert_eq!(t.topics, ["Topic"]);
        assert_eq!(t.subscriptions[0].topic_logical_id, "Topic");
        assert_eq!(t.subscriptions[0].queue_logical_id, "Q");
        assert!(!t.subscriptions[0].raw_message_delivery);
        let set = &t.configuration_sets[0];
        assert_eq!(set.logical_id, "Set");
        assert_eq!(
            set.sns_destinations,
            [(
                "Topic".to_owned(),
                vec!["bounce".to_owned(), "complaint".to_owned()]
            )]
        );
        let http = EMAIL_EVENTS.replace("Protocol: sqs", "Protocol: https");
        assert!(Template::parse(&http).is_err());
        let orphan = EMAIL_EVENTS.replace("!Ref Set", "!Ref Missing");
        assert!(Template::parse(&orphan).is_err());
    }

    #[test]
    fn half_declared_route_is_an_error() {
        let broken = SAMPLE.replace("{Path: \"/x/{id}\", Method: get}", "{Path: \"/x\"}");
        assert!(Template::parse(&broken).is_err());
    }
}
