//! `template.yaml` must be able to tell an operator when something breaks in AWS: alarms that
//! can actually notify (CloudWatch cannot use the AWS-managed SNS key), one per failure mode,
//! each documented in docs/operations.md; and Lambda must keep the log level the stage asks for.

use mostrador_devstack::template::Template;
use mostrador_tests::repo_root;
use serde_norway::{Mapping, Value};
use std::collections::BTreeSet;

fn raw() -> Value {
    serde_norway::from_str(&std::fs::read_to_string(repo_root().join("template.yaml")).unwrap())
        .unwrap()
}

fn resources(doc: &Value) -> &Mapping {
    doc["Resources"].as_mapping().unwrap()
}

/// `!Name arg` or `{Fn::Name: arg}` / `{Ref: arg}` as (`Name`, arg).
fn intrinsic(v: &Value) -> Option<(String, &Value)> {
    match v {
        Value::Tagged(t) => Some((
            t.tag.to_string().trim_start_matches('!').to_owned(),
            &t.value,
        )),
        Value::Mapping(m) if m.len() == 1 => {
            let (k, arg) = m.iter().next()?;
            let name = k.as_str()?;
            (name == "Ref" || name.starts_with("Fn::"))
                .then(|| (name.trim_start_matches("Fn::").to_owned(), arg))
        }
        _ => None,
    }
}

/// The logical id in `!Ref X`.
fn ref_of(v: &Value) -> Option<String> {
    match intrinsic(v)? {
        (name, Value::String(id)) if name == "Ref" => Some(id.clone()),
        _ => None,
    }
}

/// (logical id, attribute) of `!GetAtt X.Attr` or `Fn::GetAtt: [X, Attr]`.
fn getatt_of(v: &Value) -> Option<(String, String)> {
    match intrinsic(v)? {
        (name, Value::String(s)) if name == "GetAtt" => {
            let (id, attr) = s.split_once('.')?;
            Some((id.to_owned(), attr.to_owned()))
        }
        (name, Value::Sequence(parts)) if name == "GetAtt" => Some((
            parts.first()?.as_str()?.to_owned(),
            parts.get(1)?.as_str()?.to_owned(),
        )),
        _ => None,
    }
}

struct Alarm {
    id: String,
    namespace: String,
    metric: String,
    /// (dimension name, value)
    dimensions: Vec<(String, Value)>,
    props: Value,
}

fn alarms(doc: &Value) -> Vec<Alarm> {
    resources(doc)
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm")
        .map(|(id, r)| {
            let p = &r["Properties"];
            Alarm {
                id: id.as_str().unwrap().to_owned(),
                namespace: p["Namespace"].as_str().unwrap_or_default().to_owned(),
                metric: p["MetricName"].as_str().unwrap_or_default().to_owned(),
                dimensions: p["Dimensions"]
                    .as_sequence()
                    .map(|d| {
                        d.iter()
                            .map(|d| {
                                (
                                    d["Name"].as_str().unwrap_or_default().to_owned(),
                                    d["Value"].clone(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                props: p.clone(),
            }
        })
        .collect()
}

/// Whether an alarm watches `metric` of the queue `queue` (by `!GetAtt queue.QueueName`).
fn watches_queue(alarm: &Alarm, metric: &str, queue: &str) -> bool {
    alarm.namespace == "AWS/SQS"
        && alarm.metric == metric
        && alarm.dimensions.iter().any(|(name, value)| {
            name == "QueueName"
                && getatt_of(value) == Some((queue.to_owned(), "QueueName".to_owned()))
        })
}

/// The queues where runs of scheduled functions end up when they are lost: each Schedule
/// event's `DeadLetterConfig.Arn` and each scheduled function's `EventInvokeConfig` OnFailure.
pub fn schedule_failure_queues(doc: &Value) -> BTreeSet<String> {
    let mut queues = BTreeSet::new();
    for (_, r) in resources(doc) {
        let props = &r["Properties"];
        let schedules: Vec<&Value> = props["Events"]
            .as_mapping()
            .into_iter()
            .flatten()
            .map(|(_, e)| e)
            .filter(|e| matches!(e["Type"].as_str(), Some("Schedule" | "ScheduleV2")))
            .collect();
        if schedules.is_empty() {
            continue;
        }
        for event in schedules {
            queues.extend(getatt_of(&event["Properties"]["DeadLetterConfig"]["Arn"]).map(|q| q.0));
        }
        let on_failure = &props["EventInvokeConfig"]["DestinationConfig"]["OnFailure"];
        queues.extend(getatt_of(&on_failure["Destination"]).map(|q| q.0));
    }
    queues
}

#[test]
fn every_function_has_an_errors_and_a_throttles_alarm() {
    let doc = raw();
    let alarms = alarms(&doc);
    let mut missing = Vec::new();
    for function in Template::load(&repo_root().join("template.yaml"))
        .unwrap()
        .functions
    {
        for metric in ["Errors", "Throttles"] {
            let alarmed = alarms.iter().any(|a| {
                a.namespace == "AWS/Lambda"
                    && a.metric == metric
                    && a.dimensions.iter().any(|(name, value)| {
                        name == "FunctionName"
                            && ref_of(value).as_deref() == Some(function.logical_id.as_str())
                    })
            });
            if !alarmed {
                missing.push(format!("{} {metric}", function.logical_id));
            }
        }
    }
    assert!(missing.is_empty(), "no alarm on: {missing:?}");
}

#[test]
fn every_work_queue_has_an_age_alarm() {
    let doc = raw();
    let alarms = alarms(&doc);
    let template = Template::load(&repo_root().join("template.yaml")).unwrap();
    let work_queues: BTreeSet<String> = template
        .functions
        .iter()
        .flat_map(|f| f.sqs_sources.iter().map(|s| s.queue_logical_id.clone()))
        .collect();
    assert!(work_queues.len() >= 4, "{work_queues:?}");
    let missing: Vec<_> = work_queues
        .iter()
        .filter(|q| {
            !alarms
                .iter()
                .any(|a| watches_queue(a, "ApproximateAgeOfOldestMessage", q))
        })
        .collect();
    assert!(missing.is_empty(), "no age alarm on: {missing:?}");
}

#[test]
fn every_dead_letter_queue_has_a_depth_alarm() {
    let doc = raw();
    let alarms = alarms(&doc);
    let template = Template::load(&repo_root().join("template.yaml")).unwrap();
    let mut dlqs: BTreeSet<String> = template
        .queues
        .iter()
        .filter_map(|q| q.redrive.as_ref().map(|(d, _)| d.clone()))
        .collect();
    dlqs.extend(schedule_failure_queues(&doc));
    let missing: Vec<_> = dlqs
        .iter()
        .filter(|q| {
            !alarms
                .iter()
                .any(|a| watches_queue(a, "ApproximateNumberOfMessagesVisible", q))
        })
        .collect();
    assert!(missing.is_empty(), "no depth alarm on: {missing:?}");
}

#[test]
fn every_scheduled_run_that_is_lost_lands_in_a_queue() {
    let doc = raw();
    let res = resources(&doc);
    // Queues EventBridge may send to (a queue policy granting events.amazonaws.com).
    let mut eventbridge_may_send = BTreeSet::new();
    for (_, r) in res
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::SQS::QueuePolicy")
    {
        for statement in r["Properties"]["PolicyDocument"]["Statement"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            let service = format!("{:?}", statement["Principal"]["Service"]);
            let action = format!("{:?}", statement["Action"]);
            if statement["Effect"] == "Allow"
                && service.contains("events.amazonaws.com")
                && action.contains("sqs:SendMessage")
            {
                if let Some((q, _)) = getatt_of(&statement["Resource"]) {
                    eventbridge_may_send.insert(q);
                }
            }
        }
    }
    let mut scheduled = 0;
    for (id, r) in res {
        let props = &r["Properties"];
        for (name, event) in props["Events"].as_mapping().into_iter().flatten() {
            if !matches!(event["Type"].as_str(), Some("Schedule" | "ScheduleV2")) {
                continue;
            }
            scheduled += 1;
            let where_ = format!("{}.{}", id.as_str().unwrap(), name.as_str().unwrap());
            let dlq = &event["Properties"]["DeadLetterConfig"];
            match getatt_of(&dlq["Arn"]) {
                Some((queue, _)) => assert!(
                    eventbridge_may_send.contains(&queue),
                    "{where_}: no queue policy lets EventBridge send to {queue}"
                ),
                // SAM creates the queue and its policy itself.
                None => assert_eq!(dlq["Type"], "SQS", "{where_}: no DeadLetterConfig"),
            }
            let on_failure = &props["EventInvokeConfig"]["DestinationConfig"]["OnFailure"];
            assert!(
                on_failure["Type"].is_string() || getatt_of(&on_failure["Destination"]).is_some(),
                "{where_}: no EventInvokeConfig OnFailure destination"
            );
        }
    }
    assert!(scheduled >= 2, "the scheduled functions were not found");
}

#[test]
fn every_alarm_notifies_the_alarm_topic() {
    let doc = raw();
    let alarms = alarms(&doc);
    assert!(!alarms.is_empty());
    for alarm in &alarms {
        let notifies = alarm.props["AlarmActions"]
            .as_sequence()
            .is_some_and(|a| a.iter().any(|v| ref_of(v).as_deref() == Some("AlarmTopic")));
        assert!(notifies, "{} does not notify AlarmTopic", alarm.id);
    }
}

#[test]
fn cloudwatch_can_use_the_alarm_topic_key() {
    let doc = raw();
    let res = resources(&doc);
    let key = &res["AlarmTopic"]["Properties"]["KmsMasterKeyId"];
    if key.is_null() {
        return; // unencrypted: CloudWatch can publish (a choice the docs must defend)
    }
    if let (None, Some(alias)) = (intrinsic(key), key.as_str()) {
        panic!("AlarmTopic uses {alias}: an AWS-managed key's policy cannot grant CloudWatch");
    }
    let id = ref_of(key)
        .or_else(|| getatt_of(key).map(|(id, _)| id))
        .expect("KmsMasterKeyId must reference a key of this template");
    let key = &res[id.as_str()];
    assert_eq!(key["Type"], "AWS::KMS::Key", "{id}");
    assert_eq!(key["Properties"]["EnableKeyRotation"], Value::Bool(true));
    let grants_cloudwatch = key["Properties"]["KeyPolicy"]["Statement"]
        .as_sequence()
        .into_iter()
        .flatten()
        .any(|s| {
            let service = format!("{:?}", s["Principal"]["Service"]);
            let actions: Vec<&str> = match &s["Action"] {
                Value::String(a) => vec![a.as_str()],
                Value::Sequence(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            let allows = |needed: &str| actions.iter().any(|a| *a == needed || *a == "kms:*");
            s["Effect"] == "Allow"
                && service.contains("cloudwatch.amazonaws.com")
                && allows("kms:Decrypt")
                && allows("kms:GenerateDataKey*")
        });
    assert!(
        grants_cloudwatch,
        "{id}'s policy does not let CloudWatch encrypt notifications"
    );
}

#[test]
fn the_runbook_documents_every_alarm() {
    let doc = raw();
    let runbook = std::fs::read_to_string(repo_root().join("docs/operations.md")).unwrap();
    let missing: Vec<String> = alarms(&doc)
        .into_iter()
        .map(|a| a.id)
        .filter(|id| !runbook.contains(&format!("`{id}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/operations.md does not mention: {missing:?}"
    );
}

/// Lambda's levels, most verbose first.
const LAMBDA_LEVELS: [&str; 6] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];

#[test]
fn lambda_keeps_the_log_level_the_stage_asks_for() {
    let doc = raw();
    let allowed: Vec<String> = doc["Parameters"]["LogLevel"]["AllowedValues"]
        .as_sequence()
        .expect("LogLevel needs AllowedValues, each mapped to a Lambda level")
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert!(allowed.contains(&"debug".to_owned()), "{allowed:?}");
    let level = &doc["Globals"]["Function"]["LoggingConfig"]["ApplicationLogLevel"];
    for value in &allowed {
        let resolved = match intrinsic(level) {
            Some((name, Value::Sequence(args))) if name == "FindInMap" => {
                let key = match ref_of(&args[1]) {
                    Some(p) if p == "LogLevel" => value.clone(),
                    other => {
                        panic!("FindInMap's top-level key must be !Ref LogLevel, not {other:?}")
                    }
                };
                doc["Mappings"][args[0].as_str().unwrap()][key.as_str()][args[2].as_str().unwrap()]
                    .as_str()
                    .map(str::to_owned)
            }
            _ => level.as_str().map(str::to_owned),
        };
        let resolved = resolved.unwrap_or_default();
        assert!(
            LAMBDA_LEVELS.contains(&resolved.as_str()),
            "{value} -> {resolved:?}"
        );
        assert_eq!(
            resolved,
            value.to_ascii_uppercase(),
            "LogLevel={value} but Lambda keeps only {resolved} and above"
        );
    }
}
