//! Creates every table, index, queue, dead-letter queue and secret declared in `template.yaml`
//! on the local emulators, and resolves the functions' environment exactly as CloudFormation
//! would (`!Ref Table` → table name, `!Ref Queue` → queue URL, `!GetAtt Queue.Arn` → ARN).

use crate::template::{intrinsic, Table, Template};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_norway::Value;
use std::collections::BTreeMap;

pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("creating {what}: {message}")]
    Aws { what: String, message: String },
    #[error("template.yaml: {0}")]
    Template(String),
}

pub(crate) fn aws_err(
    what: impl Into<String>,
    err: impl std::error::Error + 'static,
) -> ProvisionError {
    ProvisionError::Aws {
        what: what.into(),
        message: mostrador::telemetry::error_chain(&err),
    }
}

/// What each logical id became locally.
#[derive(Clone, Debug, Default)]
pub struct Physical {
    pub stack_name: String,
    pub tables: BTreeMap<String, String>,
    /// logical id → (url, arn, name)
    pub queues: BTreeMap<String, (String, String, String)>,
    pub secrets: BTreeMap<String, String>,
    pub parameters: BTreeMap<String, Option<String>>,
    /// SNS topic logical id → ARN.
    pub topics: BTreeMap<String, String>,
    /// SES configuration set logical id → name.
    pub configuration_sets: BTreeMap<String, String>,
    /// Where SES publishes e-mail events: (configuration set name, topic ARN, event types).
    pub email_destinations: Vec<(String, String, Vec<String>)>,
}

impl Physical {
    pub fn queue_url(&self, logical_id: &str) -> Option<&str> {
        self.queues.get(logical_id).map(|(url, _, _)| url.as_str())
    }

    /// Resolves one environment value of the template.
    pub fn resolve(&self, value: &Value) -> Result<String, ProvisionError> {
        if let Some((name, arg)) = intrinsic(value) {
            return match name {
                "Ref" => {
                    let id = arg.as_str().unwrap_or_default();
                    self.reference(id)
                }
                "GetAtt" => {
                    let (id, attr) = match arg {
                        Value::String(s) => s.split_once('.').unwrap_or((s.as_str(), "")),
                        Value::Sequence(parts) => (
                            parts.first().and_then(Value::as_str).unwrap_or_default(),
                            parts.get(1).and_then(Value::as_str).unwrap_or_default(),
                        ),
                        _ => ("", ""),
                    };
                    self.attribute(id, attr)
                }
                "Sub" => {
                    let text = arg.as_str().unwrap_or_default();
                    self.substitute(text)
                }
                other => Err(ProvisionError::Template(format!(
                    "intrinsic {other} is not supported in environment values"
                ))),
            };
        }
        match value {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(ProvisionError::Template(format!(
                "unsupported environment value {other:?}"
            ))),
        }
    }

    fn reference(&self, id: &str) -> Result<String, ProvisionError> {
        if let Some(name) = self.tables.get(id) {
            return Ok(name.clone());
        }
        if let Some((url, _, _)) = self.queues.get(id) {
            return Ok(url.clone());
        }
        if let Some(arn) = self.secrets.get(id).or_else(|| self.topics.get(id)) {
            return Ok(arn.clone());
        }
        if let Some(name) = self.configuration_sets.get(id) {
            return Ok(name.clone());
        }
        if let Some(value) = self.parameters.get(id) {
            return value
                .clone()
                .ok_or_else(|| ProvisionError::Template(format!("parameter {id} has no Default")));
        }
        match id {
            "AWS::Region" => Ok(REGION.to_owned()),
            "AWS::Partition" => Ok("aws".to_owned()),
            "AWS::AccountId" => Ok(ACCOUNT.to_owned()),
            "AWS::StackName" => Ok(self.stack_name.clone()),
            "AWS::URLSuffix" => Ok("amazonaws.com".to_owned()),
            _ => Err(ProvisionError::Template(format!(
                "!Ref {id}: no such resource or parameter"
            ))),
        }
    }

    fn attribute(&self, id: &str, attr: &str) -> Result<String, ProvisionError> {
        match (self.queues.get(id), self.tables.get(id), attr) {
            (Some((_, arn, _)), _, "Arn") => Ok(arn.clone()),
            (Some((_, _, name)), _, "QueueName") => Ok(name.clone()),
            (Some((url, _, _)), _, "QueueUrl") => Ok(url.clone()),
            (_, Some(name), "Arn") => {
                Ok(format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"))
            }
            _ => Err(ProvisionError::Template(format!(
                "!GetAtt {id}.{attr} cannot be resolved locally"
            ))),
        }
    }

    fn substitute(&self, text: &str) -> Result<String, ProvisionError> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').ok_or_else(|| {
                ProvisionError::Template(format!("unterminated ${{ in !Sub {text:?}"))
            })?;
            let name = &after[..end];
            let value = match name.split_once('.') {
                Some((id, attr)) => self.attribute(id, attr)?,
                None => self.reference(name)?,
            };
            out.push_str(&value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// Creates (or reuses) every stateful resource of the template on the emulators.
pub async fn provision(
    template: &Template,
    stack_name: &str,
    dynamodb: &aws_sdk_dynamodb::Client,
    sqs: &aws_sdk_sqs::Client,
    secrets: &aws_sdk_secretsmanager::Client,
) -> Result<Physical, ProvisionError> {
    let mut physical = Physical {
        stack_name: stack_name.to_owned(),
        parameters: template.parameters.clone(),
        ..Default::default()
    };
    for table in &template.tables {
        let name = format!("{stack_name}-{}", table.logical_id);
        create_table(dynamodb, &name, table).await?;
        physical.tables.insert(table.logical_id.clone(), name);
    }
    provision_queues(template, stack_name, sqs, &mut physical).await?;
    for secret in &template.secrets {
        let name = match &secret.name {
            Value::Null => format!("{stack_name}/{}", secret.logical_id),
            other => physical.resolve(other)?,
        };
        let arn = create_secret(secrets, &name, secret.secret_string.as_deref()).await?;
        physical.secrets.insert(secret.logical_id.clone(), arn);
    }
    Ok(physical)
}

/// Queues live in moto's memory: this runs again whenever moto restarts.
pub async fn provision_queues(
    template: &Template,
    stack_name: &str,
    sqs: &aws_sdk_sqs::Client,
    physical: &mut Physical,
) -> Result<(), ProvisionError> {
    // Every queue first, so dead-letter targets exist before redrive policies name them.
    for queue in &template.queues {
        let name = format!("{stack_name}-{}", queue.logical_id);
        let mut req = sqs.create_queue().queue_name(&name);
        if let Some(v) = queue.visibility_timeout {
            req = req.attributes(QueueAttributeName::VisibilityTimeout, v.to_string());
        }
        if let Some(v) = queue.retention {
            req = req.attributes(QueueAttributeName::MessageRetentionPeriod, v.to_string());
        }
        if let Some(v) = queue.delay {
            req = req.attributes(QueueAttributeName::DelaySeconds, v.to_string());
        }
        let url = req
            .send()
            .await
            .map_err(|e| aws_err(format!("queue {name}"), e))?
            .queue_url
            .unwrap_or_default();
        let arn = format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}");
        physical
            .queues
            .insert(queue.logical_id.clone(), (url, arn, name));
    }
    for queue in &template.queues {
        let Some((dlq, max)) = &queue.redrive else {
            continue;
        };
        let (url, _, _) = &physical.queues[&queue.logical_id];
        let (_, dlq_arn, _) = physical.queues.get(dlq).ok_or_else(|| {
            ProvisionError::Template(format!(
                "queue {} redrives to unknown queue {dlq}",
                queue.logical_id
            ))
        })?;
        let policy =
            serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max}).to_string();
        sqs.set_queue_attributes()
            .queue_url(url)
            .attributes(QueueAttributeName::RedrivePolicy, policy)
            .send()
            .await
            .map_err(|e| aws_err(format!("redrive policy of {}", queue.logical_id), e))?;
    }
    Ok(())
}

fn key_type(kind: &str) -> KeyType {
    if kind == "RANGE" {
        KeyType::Range
    } else {
        KeyType::Hash
    }
}

fn key_schema(pairs: &[(String, String)]) -> Result<Vec<KeySchemaElement>, ProvisionError> {
    pairs
        .iter()
        .map(|(name, kind)| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(key_type(kind))
                .build()
                .map_err(|e| aws_err("key schema", e))
        })
        .collect()
}

fn gsi(g: &crate::template::Gsi) -> Result<GlobalSecondaryIndex, ProvisionError> {
    let mut projection =
        Projection::builder().projection_type(ProjectionType::from(g.projection.as_str()));
    for attr in &g.non_key_attributes {
        projection = projection.non_key_attributes(attr);
    }
    GlobalSecondaryIndex::builder()
        .index_name(&g.name)
        .set_key_schema(Some(key_schema(&g.key_schema)?))
        .projection(projection.build())
        .build()
        .map_err(|e| aws_err(format!("index {}", g.name), e))
}

async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    table: &Table,
) -> Result<(), ProvisionError> {
    let existing = client
        .describe_table()
        .table_name(name)
        .send()
        .await
        .ok()
        .and_then(|d| d.table);
    let attributes: Vec<AttributeDefinition> = table
        .attributes
        .iter()
        .map(|(attr, kind)| {
            AttributeDefinition::builder()
                .attribute_name(attr)
                .attribute_type(ScalarAttributeType::from(kind.as_str()))
                .build()
                .map_err(|e| aws_err("attribute definition", e))
        })
        .collect::<Result<_, _>>()?;
    match existing {
        None => {
            let mut req = client
                .create_table()
                .table_name(name)
                .billing_mode(BillingMode::PayPerRequest)
                .set_attribute_definitions(Some(attributes))
                .set_key_schema(Some(key_schema(&table.key_schema)?));
            for g in &table.gsis {
                req = req.global_secondary_indexes(gsi(g)?);
            }
            req.send()
                .await
                .map_err(|e| aws_err(format!("table {name}"), e))?;
        }
        Some(existing) => {
            // A kept local table (make dev) gains any index the template added since.
            let have: Vec<String> = existing
                .global_secondary_indexes()
                .iter()
                .filter_map(|g| g.index_name().map(str::to_owned))
                .collect();
            for g in table.gsis.iter().filter(|g| !have.contains(&g.name)) {
                let create = aws_sdk_dynamodb::types::CreateGlobalSecondaryIndexAction::builder()
                    .index_name(&g.name)
                    .set_key_schema(Some(key_schema(&g.key_schema)?))
                    .projection(
                        gsi(g)?
                            .projection
                            .unwrap_or_else(|| Projection::builder().build()),
                    )
                    .build()
                    .map_err(|e| aws_err(format!("index {}", g.name), e))?;
                client
                    .update_table()
                    .table_name(name)
                    .set_attribute_definitions(Some(attributes.clone()))
                    .global_secondary_index_updates(
                        aws_sdk_dynamodb::types::GlobalSecondaryIndexUpdate::builder()
                            .create(create)
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(|e| aws_err(format!("index {} on {name}", g.name), e))?;
            }
        }
    }
    if let Some(attr) = &table.ttl_attribute {
        let spec = TimeToLiveSpecification::builder()
            .attribute_name(attr)
            .enabled(true)
            .build()
            .map_err(|e| aws_err("ttl", e))?;
        // Already enabled on a kept table: DynamoDB answers ValidationException; nothing to do.
        let _ = client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(spec)
            .send()
            .await;
    }
    Ok(())
}

async fn create_secret(
    client: &aws_sdk_secretsmanager::Client,
    name: &str,
    value: Option<&str>,
) -> Result<String, ProvisionError> {
    if let Ok(existing) = client.describe_secret().secret_id(name).send().await {
        return Ok(existing.arn.unwrap_or_default());
    }
    let value = match value {
        Some(v) => v.to_owned(),
        None => client
            .get_random_password()
            .password_length(32)
            .exclude_punctuation(true)
            .send()
            .await
            .map_err(|e| aws_err(format!("random value for {name}"), e))?
            .random_password
            .unwrap_or_default(),
    };
    let created = client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .map_err(|e| aws_err(format!("secret {name}"), e))?;
    Ok(created.arn.unwrap_or_default())
}
