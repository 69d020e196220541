//! `template.yaml`, `functions/`, the function table (`mostrador::functions`) and `Config` must
//! agree.

use mostrador::functions::{lookup, Entry, FUNCTIONS};
use mostrador_devstack::template::Template;
use mostrador_tests::repo_root;
use serde_norway::Value;
use std::collections::BTreeSet;

fn template() -> Template {
    Template::load(&repo_root().join("template.yaml")).unwrap()
}

fn raw() -> Value {
    serde_norway::from_str(&std::fs::read_to_string(repo_root().join("template.yaml")).unwrap())
        .unwrap()
}

#[test]
fn every_function_folder_is_deployed_and_has_a_handler() {
    let t = template();
    let folders: BTreeSet<String> = std::fs::read_dir(repo_root().join("functions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    let deployed: BTreeSet<String> = t.functions.iter().map(|f| f.binary.clone()).collect();
    assert_eq!(folders, deployed, "functions/ vs template.yaml");
    let declared: Vec<&str> = t.functions.iter().map(|f| f.binary.as_str()).collect();
    let listed: Vec<&str> = FUNCTIONS.iter().map(|f| f.name).collect();
    assert_eq!(
        listed, declared,
        "mostrador::functions vs template.yaml (same functions, same order)"
    );
    for binary in &deployed {
        assert!(lookup(binary).is_some(), "{binary} has no handler");
    }
}

/// Each binary runs the handler the table gives its name (the one the devstack serves), so the
/// handlers agree and not only the names: `main.rs` looks itself up by its cargo binary name,
/// which is its folder's name.
#[test]
fn every_binary_serves_its_table_entry() {
    for function in template().functions {
        let dir = repo_root().join("functions").join(&function.binary);
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains(&format!("name = \"{}\"", function.binary))
                && !manifest.contains("[[bin]]"),
            "functions/{0}: the package (and so the binary) must be named {0}",
            function.binary
        );
        let main = std::fs::read_to_string(dir.join("src/main.rs")).unwrap();
        assert!(
            main.contains("mostrador::functions::named(env!(\"CARGO_BIN_NAME\"))")
                && main.contains("ENTRY.serve()"),
            "functions/{}/src/main.rs must serve its entry of mostrador::functions",
            function.binary
        );
    }
}

#[test]
fn every_template_route_has_a_handler_and_vice_versa() {
    for function in template().functions {
        let declared: BTreeSet<String> = function
            .routes
            .iter()
            .map(|r| r.route_key.clone())
            .collect();
        match lookup(&function.binary).unwrap() {
            Entry::Http { routes, .. } => {
                let served: BTreeSet<String> = routes.iter().map(|r| r.to_string()).collect();
                assert_eq!(declared, served, "routes of {}", function.binary);
            }
            Entry::Schedule(_) => {
                assert!(
                    declared.is_empty(),
                    "{} is scheduled and has HTTP routes",
                    function.binary
                );
                assert!(
                    !function.schedules.is_empty(),
                    "{} has no schedule",
                    function.binary
                );
            }
            Entry::Sqs(_) => {
                assert!(
                    declared.is_empty(),
                    "{} is an SQS consumer with HTTP routes",
                    function.binary
                );
                assert!(
                    !function.sqs_sources.is_empty(),
                    "{} consumes no queue",
                    function.binary
                );
            }
        }
    }
}

#[test]
fn config_reads_exactly_the_variables_the_template_sets() {
    let t = template();
    let in_template: BTreeSet<&str> = t.global_env.keys().map(String::as_str).collect();
    let in_config: BTreeSet<&str> = mostrador::config::ENV_VARS.iter().copied().collect();
    assert_eq!(in_template, in_config);
}

#[test]
fn queues_outlive_their_consumers_and_report_partial_failures() {
    let doc = raw();
    let resources = doc["Resources"].as_mapping().unwrap();
    let global_timeout = doc["Globals"]["Function"]["Timeout"].as_u64().unwrap_or(3);
    for function in template().functions {
        let props = &resources[function.logical_id.as_str()]["Properties"];
        let timeout = props["Timeout"].as_u64().unwrap_or(global_timeout);
        for source in &function.sqs_sources {
            assert!(
                source.report_batch_item_failures,
                "{}: add FunctionResponseTypes: [ReportBatchItemFailures]",
                function.binary
            );
            let queue = &resources[source.queue_logical_id.as_str()]["Properties"];
            let visibility = queue["VisibilityTimeout"].as_u64().unwrap_or(30);
            assert!(
                visibility >= 6 * timeout,
                "{}: visibility {visibility} < 6 x timeout {timeout}",
                source.queue_logical_id
            );
        }
    }
}

#[test]
fn every_queue_has_a_dead_letter_queue_with_an_alarm() {
    let t = template();
    let doc = raw();
    let resources = doc["Resources"].as_mapping().unwrap();
    let dlqs: BTreeSet<String> = t
        .queues
        .iter()
        .filter_map(|q| q.redrive.as_ref().map(|(d, _)| d.clone()))
        .chain(crate::template_alarms::schedule_failure_queues(&doc))
        .collect();
    for queue in &t.queues {
        assert!(
            queue.redrive.is_some() || dlqs.contains(&queue.logical_id),
            "{} has no DLQ",
            queue.logical_id
        );
    }
    for dlq in &dlqs {
        let alarmed = resources.values().any(|r| {
            r["Type"] == "AWS::CloudWatch::Alarm"
                && r["Properties"]["Dimensions"]
                    .as_sequence()
                    .is_some_and(|d| {
                        d.iter()
                            .any(|dim| format!("{:?}", dim["Value"]).contains(dlq.as_str()))
                    })
        });
        assert!(alarmed, "{dlq} has no alarm");
    }
}

#[test]
fn the_table_is_recoverable_and_encrypted() {
    let doc = raw();
    let table = &doc["Resources"]["Table"]["Properties"];
    assert_eq!(
        table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        Value::Bool(true)
    );
    assert_eq!(table["SSESpecification"]["SSEEnabled"], Value::Bool(true));
    assert_eq!(
        table["TimeToLiveSpecification"]["Enabled"],
        Value::Bool(true)
    );
}
