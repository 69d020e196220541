//! The storage layer's one error: a DynamoDB SDK error, classified once, with the SDK error kept
//! as its source. What a kind means to a caller is decided at the edges, once each: here for
//! HTTP (`From<StorageError> for ApiError`), in `crate::sqs` for queue messages.

use crate::error::ApiError;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

/// Why a DynamoDB call failed, as far as any caller needs to know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageErrorKind {
    /// Capacity or request-rate limits (`ProvisionedThroughputExceededException`,
    /// `RequestLimitExceeded`, `ThrottlingException`): retry after a pause.
    Throttled,
    /// DynamoDB unreachable, timed out, or failing on its side (`InternalServerError`,
    /// `ServiceUnavailable`): retry after a pause.
    Unavailable,
    /// `ConditionalCheckFailedException`: one of our conditions did not hold. Call sites that
    /// expect it turn it into a domain outcome before it gets here.
    ConditionFailed,
    /// `TransactionCanceledException` (another transaction, or one of our conditions; see
    /// `db::failed_condition` for telling them apart).
    TransactionConflict,
    /// Anything else: a bug or a misconfiguration on our side.
    Other,
}

impl std::fmt::Display for StorageErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Throttled => "throttled",
            Self::Unavailable => "unavailable",
            Self::ConditionFailed => "condition failed",
            Self::TransactionConflict => "transaction conflict",
            Self::Other => "failed",
        })
    }
}

/// A failed DynamoDB call: its kind and the SDK error that caused it.
#[derive(Debug, thiserror::Error)]
#[error("storage {kind}")]
pub struct StorageError {
    pub(super) kind: StorageErrorKind,
    #[source]
    pub(super) source: Box<dyn std::error::Error + Send + Sync>,
}

impl StorageError {
    /// A failure on our side around a call (an item that does not (de)serialise, a request
    /// the builder refuses): kind `Other`, with `source` kept.
    pub fn other(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self {
            kind: StorageErrorKind::Other,
            source: source.into(),
        }
    }

    pub fn kind(&self) -> StorageErrorKind {
        self.kind
    }

    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            StorageErrorKind::Throttled | StorageErrorKind::Unavailable
        )
    }
}

/// The one classification of DynamoDB SDK errors, by the service's error code (the same for
/// every operation's error enum).
pub fn kind_of<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> StorageErrorKind {
    match err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => StorageErrorKind::Unavailable,
        SdkError::ServiceError(e) => match e.err().code() {
            Some(
                "ProvisionedThroughputExceededException"
                | "ThrottlingException"
                | "RequestLimitExceeded",
            ) => StorageErrorKind::Throttled,
            Some("InternalServerError" | "ServiceUnavailable") => StorageErrorKind::Unavailable,
            Some("ConditionalCheckFailedException") => StorageErrorKind::ConditionFailed,
            Some("TransactionCanceledException") => StorageErrorKind::TransactionConflict,
            _ => StorageErrorKind::Other,
        },
        _ => StorageErrorKind::Other,
    }
}

/// The HTTP edge: throttling and unreachability are the client's to retry (503
/// `storage_unavailable` with `Retry-After`), everything else is ours (an opaque 500 with the
/// cause logged). Conditions and conflicts a route expects are handled at its call site first.
impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        if err.is_retryable() {
            tracing::warn!(error = %crate::telemetry::error_chain(&err), "storage unavailable");
            ApiError::unavailable(
                "storage_unavailable",
                "storage is temporarily unavailable; retry shortly",
            )
            .with_header(http::header::RETRY_AFTER, "1")
            .with_source(err)
        } else {
            ApiError::internal(err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::storage_error;
    use aws_sdk_dynamodb::config::http::HttpResponse;
    use aws_sdk_dynamodb::operation::get_item::GetItemError;
    use aws_sdk_dynamodb::operation::put_item::PutItemError;
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    use aws_sdk_dynamodb::types::error::{
        ConditionalCheckFailedException, InternalServerError,
        ProvisionedThroughputExceededException, RequestLimitExceeded, ThrottlingException,
        TransactionCanceledException,
    };
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;
    use http::StatusCode;

    /// What the SDK's deserializer builds: the modeled variant with the wire code in its metadata.
    fn meta(code: &str) -> ErrorMetadata {
        ErrorMetadata::builder()
            .code(code)
            .message("from the test")
            .build()
    }

    fn service<E>(err: E, status: u16) -> SdkError<E, HttpResponse> {
        let status = status.try_into().expect("a valid status");
        SdkError::service_error(err, HttpResponse::new(status, SdkBody::empty()))
    }

    fn throttled() -> Vec<SdkError<GetItemError, HttpResponse>> {
        let code = "ProvisionedThroughputExceededException";
        vec![
            service(
                GetItemError::ProvisionedThroughputExceededException(
                    ProvisionedThroughputExceededException::builder()
                        .meta(meta(code))
                        .build(),
                ),
                400,
            ),
            service(
                GetItemError::RequestLimitExceeded(
                    RequestLimitExceeded::builder()
                        .meta(meta("RequestLimitExceeded"))
                        .build(),
                ),
                400,
            ),
            service(
                GetItemError::ThrottlingException(
                    ThrottlingException::builder()
                        .meta(meta("ThrottlingException"))
                        .build(),
                ),
                400,
            ),
        ]
    }

    fn condition_failed() -> SdkError<PutItemError, HttpResponse> {
        let code = "ConditionalCheckFailedException";
        service(
            PutItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder()
                    .meta(meta(code))
                    .build(),
            ),
            400,
        )
    }

    fn transaction_canceled() -> SdkError<TransactWriteItemsError, HttpResponse> {
        let code = "TransactionCanceledException";
        service(
            TransactWriteItemsError::TransactionCanceledException(
                TransactionCanceledException::builder()
                    .meta(meta(code))
                    .build(),
            ),
            400,
        )
    }

    #[test]
    fn throttling_codes_are_throttled() {
        for err in throttled() {
            assert_eq!(kind_of(&err), StorageErrorKind::Throttled, "{err:?}");
            assert!(storage_error(err).is_retryable());
        }
    }

    #[test]
    fn service_side_failures_and_timeouts_are_unavailable() {
        let internal = service(
            GetItemError::InternalServerError(
                InternalServerError::builder()
                    .meta(meta("InternalServerError"))
                    .build(),
            ),
            500,
        );
        assert_eq!(kind_of(&internal), StorageErrorKind::Unavailable);
        let unmodeled = service(GetItemError::generic(meta("ServiceUnavailable")), 503);
        assert_eq!(kind_of(&unmodeled), StorageErrorKind::Unavailable);
        let timeout: SdkError<GetItemError, HttpResponse> =
            SdkError::timeout_error(std::io::Error::other("read timed out"));
        assert_eq!(kind_of(&timeout), StorageErrorKind::Unavailable);
    }

    #[test]
    fn conditions_and_cancelled_transactions_keep_their_kind() {
        let cond = condition_failed();
        assert_eq!(kind_of(&cond), StorageErrorKind::ConditionFailed);
        assert!(crate::db::is_conditional_failure(&cond));
        assert!(!crate::db::is_transaction_conflict(&cond));
        let tx = transaction_canceled();
        assert_eq!(kind_of(&tx), StorageErrorKind::TransactionConflict);
        assert!(crate::db::is_transaction_conflict(&tx));
        assert!(!crate::db::is_conditional_failure(&tx));
    }

    #[test]
    fn anything_else_is_other() {
        let not_found = service(
            GetItemError::generic(meta("ResourceNotFoundException")),
            400,
        );
        assert_eq!(kind_of(&not_found), StorageErrorKind::Other);
        let construction: SdkError<GetItemError, HttpResponse> =
            SdkError::construction_failure(std::io::Error::other("no table"));
        assert_eq!(kind_of(&construction), StorageErrorKind::Other);
    }

    #[test]
    fn the_sdk_error_is_the_source() {
        let err = storage_error(condition_failed());
        let source = std::error::Error::source(&err).expect("a source");
        assert!(source.is::<SdkError<PutItemError, HttpResponse>>());
        let chain = crate::telemetry::error_chain(&err);
        assert!(chain.starts_with("storage condition failed"), "{chain}");
    }

    #[test]
    fn retryable_kinds_are_503_with_retry_after_and_keep_the_cause_off_the_wire() {
        for err in throttled() {
            let api = ApiError::from(storage_error(err));
            assert_eq!(api.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(api.code(), "storage_unavailable");
            assert!(api.source_error().is_some());
            let response = api.into_response("r");
            assert_eq!(response.headers()["retry-after"], "1");
            let lambda_http::Body::Text(text) = response.body() else {
                panic!("text body")
            };
            assert!(!text.contains("from the test"), "{text}");
        }
    }

    #[test]
    fn other_kinds_are_an_opaque_500_with_the_cause_kept() {
        let errors = [
            (
                storage_error(condition_failed()),
                "ConditionalCheckFailedException",
            ),
            (
                storage_error(transaction_canceled()),
                "TransactionCanceledException",
            ),
            (
                storage_error(service(
                    GetItemError::generic(meta("ValidationException")),
                    400,
                )),
                "ValidationException",
            ),
        ];
        for (err, code) in errors {
            let api = ApiError::from(err);
            assert_eq!(api.status(), StatusCode::INTERNAL_SERVER_ERROR);
            assert_eq!(api.code(), "internal_error");
            assert!(api.to_string().contains(code), "{api}");
            let body = api.problem("r").to_string();
            assert!(!body.contains(code), "{body}");
        }
    }
}
