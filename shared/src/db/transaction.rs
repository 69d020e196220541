//! One `TransactWriteItems` with the retry every caller wants: a cancellation caused only by
//! another transaction touching the same items is tried again (a few times, briefly backed
//! off); one where our own condition failed is an answer, not an error.

use super::{is_transaction_conflict, storage_error, StorageError};
use crate::AppState;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::TransactWriteItem;

/// Attempts of a transaction that only conflicted with another one.
const TRIES: u32 = 5;

/// How a transaction ended, short of a storage failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transaction {
    Committed,
    /// One of the items' conditions did not hold (a lost race or a duplicate): nothing written.
    ConditionFailed,
}

/// Writes `items` all or nothing.
pub async fn transact(
    state: &AppState,
    items: Vec<TransactWriteItem>,
) -> Result<Transaction, StorageError> {
    let mut tries = 0;
    loop {
        tries += 1;
        let result = state
            .dynamodb
            .transact_write_items()
            .set_transact_items(Some(items.clone()))
            .send()
            .await;
        match result {
            Ok(_) => return Ok(Transaction::Committed),
            Err(e) if failed_condition(&e) => return Ok(Transaction::ConditionFailed),
            Err(e) if is_transaction_conflict(&e) && tries < TRIES => {
                tokio::time::sleep(std::time::Duration::from_millis(20 * u64::from(tries))).await;
            }
            Err(e) => return Err(storage_error(e)),
        }
    }
}

/// Whether a cancelled transaction failed one of *our* conditions (a lost race or a duplicate)
/// rather than a transient conflict with another transaction (worth retrying at once).
pub fn failed_condition(err: &SdkError<TransactWriteItemsError, HttpResponse>) -> bool {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(e)) => e
            .cancellation_reasons()
            .iter()
            .any(|r| r.code() == Some("ConditionalCheckFailed")),
        _ => false,
    }
}
