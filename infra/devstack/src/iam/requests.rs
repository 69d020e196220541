//! What AWS authorizes for one SDK request: its IAM action(s) and the resource ARN(s), computed
//! from the operation's typed input. Every rule below is from the services' "Actions, resources
//! and condition keys" pages of the Service Authorization Reference and their IAM guides:
//!
//! - DynamoDB: an item or table operation is authorized on the table ARN
//!   (`arn:aws:dynamodb:<region>:<account>:table/<name>`), a `Query`/`Scan` with `IndexName` on
//!   the index ARN (`…:table/<name>/index/<index>`). `BatchGetItem`/`BatchWriteItem` are
//!   authorized once per table they name. `TransactWriteItems` and `TransactGetItems` have no
//!   IAM action of their own ("Using IAM with DynamoDB transactions": permissions for Put,
//!   Update, Delete and Get are those of PutItem, UpdateItem, DeleteItem and GetItem, and a
//!   ConditionCheck needs `dynamodb:ConditionCheckItem`), each on its own item's table.
//! - SQS: actions on the queue ARN (`arn:aws:sqs:<region>:<account>:<name>`, from the QueueUrl
//!   `…/<account>/<name>`); a `…Batch` operation needs the single-message action
//!   (`SendMessageBatch` → `sqs:SendMessage`, SQS Developer Guide, "Amazon SQS API permissions").
//! - SES v2 (the `ses:` prefix, shared with v1): `SendEmail` → `ses:SendEmail` on the sending
//!   identity and the configuration set; `ListEmailIdentities` has no resource (only `*`).
//! - Secrets Manager: actions on the secret ARN, which ends in `-` and 6 random characters.
//!   `CreateSecret` is authorized on the ARN the new secret will get (`secret:<name>-??????`, the
//!   suffix unknown beforehand, here a random one). For a secret that does not exist (yet), AWS
//!   does not document which ARN it evaluates; we assume the suffix-less `secret:<name>`, the
//!   stricter reading, so a policy written with `<name>-??????` is refused here and one that
//!   covers both (`<name>*`) passes, in AWS either way. `GetRandomPassword` has no resource.
//!
//! An operation not listed is authorized as `<prefix>:<Operation>` on `*`, i.e. it needs a
//! statement with `Resource: "*"`, so a new kind of call is never allowed by accident.

use aws_smithy_runtime_api::client::interceptors::context::{Input, Output};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// One (action, resource) pair IAM must allow.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Need {
    pub action: String,
    pub resource: String,
}

fn need(action: impl Into<String>, resource: impl Into<String>) -> Need {
    Need {
        action: action.into(),
        resource: resource.into(),
    }
}

/// Builds local ARNs exactly as `provision` (and so the policies' `!GetAtt`/`!Sub`) does.
#[derive(Clone, Debug)]
pub struct Arns {
    pub region: String,
    pub account: String,
    /// Secret name → ARN, from provisioning and from every answer that carries one.
    pub secrets: Arc<Mutex<BTreeMap<String, String>>>,
}

impl Arns {
    pub fn table(&self, name: &str) -> String {
        if name.starts_with("arn:") {
            return name.to_owned();
        }
        format!(
            "arn:aws:dynamodb:{}:{}:table/{name}",
            self.region, self.account
        )
    }

    fn index(&self, table: &str, index: Option<&str>) -> String {
        match index {
            Some(index) => format!("{}/index/{index}", self.table(table)),
            None => self.table(table),
        }
    }

    /// `https://host/<account>/<name>` → `arn:aws:sqs:<region>:<account>:<name>`.
    pub fn queue(&self, url: &str) -> String {
        let mut parts = url.trim_end_matches('/').rsplit('/');
        let name = parts.next().unwrap_or_default();
        let account = parts.next().unwrap_or(&self.account);
        format!("arn:aws:sqs:{}:{account}:{name}", self.region)
    }

    fn secret_prefix(&self) -> String {
        format!(
            "arn:aws:secretsmanager:{}:{}:secret:",
            self.region, self.account
        )
    }

    /// The ARN of an existing secret named or identified by `id`, else the suffix-less one.
    pub fn secret(&self, id: &str) -> String {
        if id.starts_with("arn:") {
            return id.to_owned();
        }
        let known = self.secrets.lock().ok().and_then(|s| s.get(id).cloned());
        known.unwrap_or_else(|| format!("{}{id}", self.secret_prefix()))
    }

    /// The ARN `CreateSecret` will give `name`: a random 6-character suffix, as AWS and moto do.
    fn new_secret(&self, name: &str) -> String {
        let random = ulid::Ulid::new().to_string();
        let suffix: String = random.chars().rev().take(6).collect();
        format!("{}{name}-{suffix}", self.secret_prefix())
    }

    pub fn remember_secret(&self, name: &str, arn: &str) {
        if let Ok(mut s) = self.secrets.lock() {
            s.insert(name.to_owned(), arn.to_owned());
        }
    }

    fn identity(&self, address: &str) -> String {
        // "Name <a@b>" → a@b; SES authorizes the address's identity or its domain's.
        let address = address
            .rsplit_once('<')
            .map(|(_, a)| a.trim_end_matches('>'))
            .unwrap_or(address)
            .trim();
        format!(
            "arn:aws:ses:{}:{}:identity/{address}",
            self.region, self.account
        )
    }
}

/// The IAM prefix of an SDK service (`Metadata::service`).
pub fn prefix(service: &str) -> String {
    match service {
        "SESv2" => "ses".to_owned(),
        "Secrets Manager" => "secretsmanager".to_owned(),
        other => other.to_ascii_lowercase().replace(' ', ""),
    }
}

/// What `operation` of `service` with `input` needs.
pub fn needs(service: &str, operation: &str, input: &Input, arns: &Arns) -> Vec<Need> {
    let p = prefix(service);
    let found = match p.as_str() {
        "dynamodb" => dynamodb(operation, input, arns),
        "sqs" => sqs(operation, input, arns),
        "ses" => ses(operation, input, arns),
        "secretsmanager" => secrets(operation, input, arns),
        _ => None,
    };
    found.unwrap_or_else(|| vec![need(format!("{p}:{operation}"), "*")])
}

macro_rules! input {
    ($input:expr, $ty:ty) => {
        $input.downcast_ref::<$ty>()?
    };
}

fn dynamodb(op: &str, input: &Input, arns: &Arns) -> Option<Vec<Need>> {
    use aws_sdk_dynamodb::operation as o;
    let on_table = |action: &str, table: Option<&str>| {
        Some(vec![need(format!("dynamodb:{action}"), arns.table(table?))])
    };
    match op {
        "GetItem" => on_table(op, input!(input, o::get_item::GetItemInput).table_name()),
        "PutItem" => on_table(op, input!(input, o::put_item::PutItemInput).table_name()),
        "UpdateItem" => on_table(
            op,
            input!(input, o::update_item::UpdateItemInput).table_name(),
        ),
        "DeleteItem" => on_table(
            op,
            input!(input, o::delete_item::DeleteItemInput).table_name(),
        ),
        "DescribeTable" => on_table(
            op,
            input!(input, o::describe_table::DescribeTableInput).table_name(),
        ),
        "Query" => {
            let i = input!(input, o::query::QueryInput);
            Some(vec![need(
                "dynamodb:Query",
                arns.index(i.table_name()?, i.index_name()),
            )])
        }
        "Scan" => {
            let i = input!(input, o::scan::ScanInput);
            Some(vec![need(
                "dynamodb:Scan",
                arns.index(i.table_name()?, i.index_name()),
            )])
        }
        "BatchGetItem" => {
            let i = input!(input, o::batch_get_item::BatchGetItemInput);
            let tables = i.request_items()?.keys();
            Some(
                tables
                    .map(|t| need("dynamodb:BatchGetItem", arns.table(t)))
                    .collect(),
            )
        }
        "BatchWriteItem" => {
            let i = input!(input, o::batch_write_item::BatchWriteItemInput);
            let tables = i.request_items()?.keys();
            Some(
                tables
                    .map(|t| need("dynamodb:BatchWriteItem", arns.table(t)))
                    .collect(),
            )
        }
        "TransactWriteItems" => {
            let i = input!(input, o::transact_write_items::TransactWriteItemsInput);
            let mut out = Vec::new();
            for item in i.transact_items() {
                if let Some(x) = item.put() {
                    out.push(need("dynamodb:PutItem", arns.table(x.table_name())));
                }
                if let Some(x) = item.update() {
                    out.push(need("dynamodb:UpdateItem", arns.table(x.table_name())));
                }
                if let Some(x) = item.delete() {
                    out.push(need("dynamodb:DeleteItem", arns.table(x.table_name())));
                }
                if let Some(x) = item.condition_check() {
                    out.push(need(
                        "dynamodb:ConditionCheckItem",
                        arns.table(x.table_name()),
                    ));
                }
            }
            Some(dedup(out))
        }
        "TransactGetItems" => {
            let i = input!(input, o::transact_get_items::TransactGetItemsInput);
            let out = i
                .transact_items()
                .iter()
                .filter_map(|item| item.get())
                .map(|g| need("dynamodb:GetItem", arns.table(g.table_name())))
                .collect();
            Some(dedup(out))
        }
        _ => None,
    }
}

fn dedup(mut needs: Vec<Need>) -> Vec<Need> {
    needs.sort();
    needs.dedup();
    needs
}

fn sqs(op: &str, input: &Input, arns: &Arns) -> Option<Vec<Need>> {
    use aws_sdk_sqs::operation as o;
    let url = match op {
        "SendMessage" => input!(input, o::send_message::SendMessageInput).queue_url(),
        "SendMessageBatch" => {
            input!(input, o::send_message_batch::SendMessageBatchInput).queue_url()
        }
        "ChangeMessageVisibility" => input!(
            input,
            o::change_message_visibility::ChangeMessageVisibilityInput
        )
        .queue_url(),
        "ChangeMessageVisibilityBatch" => input!(
            input,
            o::change_message_visibility_batch::ChangeMessageVisibilityBatchInput
        )
        .queue_url(),
        "GetQueueAttributes" => {
            input!(input, o::get_queue_attributes::GetQueueAttributesInput).queue_url()
        }
        "ReceiveMessage" => input!(input, o::receive_message::ReceiveMessageInput).queue_url(),
        "DeleteMessage" => input!(input, o::delete_message::DeleteMessageInput).queue_url(),
        "DeleteMessageBatch" => {
            input!(input, o::delete_message_batch::DeleteMessageBatchInput).queue_url()
        }
        _ => None,
    }?;
    let action = op.strip_suffix("Batch").unwrap_or(op);
    Some(vec![need(format!("sqs:{action}"), arns.queue(url))])
}

fn ses(op: &str, input: &Input, arns: &Arns) -> Option<Vec<Need>> {
    use aws_sdk_sesv2::operation as o;
    match op {
        "SendEmail" => {
            let i = input!(input, o::send_email::SendEmailInput);
            let mut out = vec![need(
                "ses:SendEmail",
                arns.identity(i.from_email_address()?),
            )];
            if let Some(set) = i.configuration_set_name() {
                out.push(need(
                    "ses:SendEmail",
                    format!(
                        "arn:aws:ses:{}:{}:configuration-set/{set}",
                        arns.region, arns.account
                    ),
                ));
            }
            Some(out)
        }
        "ListEmailIdentities" => Some(vec![need("ses:ListEmailIdentities", "*")]),
        _ => None,
    }
}

fn secrets(op: &str, input: &Input, arns: &Arns) -> Option<Vec<Need>> {
    use aws_sdk_secretsmanager::operation as o;
    let action = format!("secretsmanager:{op}");
    let id = match op {
        "GetSecretValue" => input!(input, o::get_secret_value::GetSecretValueInput).secret_id(),
        "PutSecretValue" => input!(input, o::put_secret_value::PutSecretValueInput).secret_id(),
        "DescribeSecret" => input!(input, o::describe_secret::DescribeSecretInput).secret_id(),
        "DeleteSecret" => input!(input, o::delete_secret::DeleteSecretInput).secret_id(),
        "UpdateSecret" => input!(input, o::update_secret::UpdateSecretInput).secret_id(),
        "CreateSecret" => {
            let name = input!(input, o::create_secret::CreateSecretInput).name()?;
            return Some(vec![need(action, arns.new_secret(name))]);
        }
        "GetRandomPassword" => return Some(vec![need(action, "*")]),
        _ => None,
    }?;
    Some(vec![need(action, arns.secret(id))])
}

/// Remembers the ARN of every secret an answer names, so later requests by name are
/// authorized on the real ARN (with its random suffix).
pub fn learn(service: &str, output: &Output, arns: &Arns) {
    use aws_sdk_secretsmanager::operation as o;
    if prefix(service) != "secretsmanager" {
        return;
    }
    let pair = if let Some(x) = output.downcast_ref::<o::create_secret::CreateSecretOutput>() {
        (x.name(), x.arn())
    } else if let Some(x) = output.downcast_ref::<o::get_secret_value::GetSecretValueOutput>() {
        (x.name(), x.arn())
    } else if let Some(x) = output.downcast_ref::<o::describe_secret::DescribeSecretOutput>() {
        (x.name(), x.arn())
    } else if let Some(x) = output.downcast_ref::<o::put_secret_value::PutSecretValueOutput>() {
        (x.name(), x.arn())
    } else {
        return;
    };
    if let (Some(name), Some(arn)) = pair {
        arns.remember_secret(name, arn);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::operation::{query::QueryInput, transact_write_items::*};
    use aws_sdk_dynamodb::types::{ConditionCheck, Put, TransactWriteItem, Update};

    fn arns() -> Arns {
        Arns {
            region: "r".into(),
            account: "1".into(),
            secrets: Default::default(),
        }
    }

    #[test]
    fn a_transaction_is_authorized_item_by_item() {
        let key = aws_sdk_dynamodb::types::AttributeValue::S("k".into());
        let put = Put::builder()
            .table_name("T")
            .item("pk", key.clone())
            .build()
            .unwrap();
        let update = Update::builder()
            .table_name("T")
            .key("pk", key.clone())
            .update_expression("SET a = :a")
            .build()
            .unwrap();
        let check = ConditionCheck::builder()
            .table_name("U")
            .key("pk", key)
            .condition_expression("attribute_exists(pk)")
            .build()
            .unwrap();
        let input = TransactWriteItemsInput::builder()
            .transact_items(TransactWriteItem::builder().put(put.clone()).build())
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().update(update).build())
            .transact_items(TransactWriteItem::builder().condition_check(check).build())
            .build()
            .unwrap();
        let got = needs(
            "DynamoDB",
            "TransactWriteItems",
            &Input::erase(input),
            &arns(),
        );
        let actions: Vec<_> = got
            .iter()
            .map(|n| (n.action.as_str(), n.resource.as_str()))
            .collect();
        assert_eq!(
            actions,
            [
                (
                    "dynamodb:ConditionCheckItem",
                    "arn:aws:dynamodb:r:1:table/U"
                ),
                ("dynamodb:PutItem", "arn:aws:dynamodb:r:1:table/T"),
                ("dynamodb:UpdateItem", "arn:aws:dynamodb:r:1:table/T"),
            ]
        );
    }

    #[test]
    fn queries_queues_and_secrets_name_the_right_arn() {
        let q = QueryInput::builder()
            .table_name("T")
            .index_name("due")
            .build()
            .unwrap();
        let got = needs("DynamoDB", "Query", &Input::erase(q), &arns());
        assert_eq!(got[0].resource, "arn:aws:dynamodb:r:1:table/T/index/due");
        let a = arns();
        assert_eq!(a.queue("http://127.0.0.1:9/1/t-Q"), "arn:aws:sqs:r:1:t-Q");
        let batch = aws_sdk_sqs::operation::send_message_batch::SendMessageBatchInput::builder()
            .queue_url("http://127.0.0.1:9/1/t-Q")
            .build()
            .unwrap();
        let got = needs("SQS", "SendMessageBatch", &Input::erase(batch), &a);
        assert_eq!(got, [need("sqs:SendMessage", "arn:aws:sqs:r:1:t-Q")]);
        // Unknown secret: the suffix-less ARN; known: the real one, with its suffix.
        assert_eq!(a.secret("s/x"), "arn:aws:secretsmanager:r:1:secret:s/x");
        a.remember_secret("s/x", "arn:aws:secretsmanager:r:1:secret:s/x-AbCdEf");
        assert_eq!(
            a.secret("s/x"),
            "arn:aws:secretsmanager:r:1:secret:s/x-AbCdEf"
        );
        let create = aws_sdk_secretsmanager::operation::create_secret::CreateSecretInput::builder()
            .name("s/y")
            .build()
            .unwrap();
        let got = needs("Secrets Manager", "CreateSecret", &Input::erase(create), &a);
        assert!(super::super::policy::wildcard_match(
            "arn:aws:secretsmanager:r:1:secret:s/y-??????",
            &got[0].resource
        ));
        // An operation this module does not know needs `Resource: "*"`.
        let other = Input::erase(QueryInput::builder().build().unwrap());
        assert_eq!(
            needs("DynamoDB", "Scan", &other, &a),
            [need("dynamodb:Scan", "*")]
        );
    }
}
