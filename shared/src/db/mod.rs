//! DynamoDB plumbing shared by every store: typed items through serde, the one classification
//! of SDK errors ([`StorageError`]) and its one mapping to API errors, and TTL semantics (an item past `expires_at` is absent even if
//! DynamoDB has not deleted it yet, and DynamoDB Local never does).

mod error;
mod transaction;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
pub use error::{kind_of, StorageError, StorageErrorKind};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;
pub use transaction::{failed_condition, transact, Transaction};

pub type Item = HashMap<String, AttributeValue>;

pub fn to_item<T: Serialize>(value: &T) -> Result<Item, StorageError> {
    serde_dynamo::to_item(value).map_err(StorageError::other)
}

pub fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, StorageError> {
    serde_dynamo::from_item(item).map_err(StorageError::other)
}

/// One strongly consistent read of the item at `pk`/`sk`: what every store uses to fetch a
/// single record, so a write acknowledged to an earlier request is always seen.
pub async fn get_item(
    state: &crate::AppState,
    pk: impl Into<String>,
    sk: impl Into<String>,
) -> Result<Option<Item>, StorageError> {
    let out = state
        .dynamodb
        .get_item()
        .table_name(&state.config.table_name)
        .key("pk", s(pk))
        .key("sk", s(sk))
        .consistent_read(true)
        .send()
        .await
        .map_err(storage_error)?;
    Ok(out.item)
}

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Whether an item's TTL has passed at `now_epoch_s`.
pub fn expired(item: &Item, now_epoch_s: i64) -> bool {
    match item.get("expires_at") {
        Some(AttributeValue::N(n)) => n
            .parse::<i64>()
            .map(|at| at <= now_epoch_s)
            .unwrap_or(false),
        _ => false,
    }
}

pub fn is_conditional_failure<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    kind_of(err) == StorageErrorKind::ConditionFailed
}

/// Whether a conditional write took effect: `Ok(false)` when its condition failed (a lost race,
/// an item already there or gone), any other failure classified as a [`StorageError`].
pub fn applied<T, E, R>(result: Result<T, SdkError<E, R>>) -> Result<bool, StorageError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(err) if is_conditional_failure(&err) => Ok(false),
        Err(err) => Err(storage_error(err)),
    }
}

pub fn is_transaction_conflict<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    kind_of(err) == StorageErrorKind::TransactionConflict
}

/// Wraps a DynamoDB SDK error as a [`StorageError`], classified once; the HTTP edge
/// (`From<StorageError> for ApiError`, below) and the SQS edge
/// (`From<StorageError> for MessageError`, in `sqs`) decide what each kind means.
pub fn storage_error<E, R>(err: SdkError<E, R>) -> StorageError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    StorageError {
        kind: kind_of(&err),
        source: Box::new(err),
    }
}
