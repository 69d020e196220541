//! Cursor-paginated, time-bounded listings inside one project's partition (never a scan).
//!
//! Ids are ULIDs, so a time range is a `BETWEEN` on the id sort key; newest first. The cursor is
//! the last id returned: the next page starts strictly after it. [`Window`] is what a request
//! asks for; [`page`] is crate-private: stores call it with the keys they own and expose typed
//! `list(project, filter, window)` functions (`events::store::list`, `webhooks::deliveries::list`),
//! so no public function takes a raw key.

use crate::db::{self, storage_error, Item};
use crate::error::{ApiError, FieldError};
use crate::http::{page, ApiRequest};
use crate::AppState;

pub use crate::http::page::MAX_LIMIT;
const MAX_PAGES: usize = 20;

/// The common query parameters: `since`, `until` (RFC 3339), `limit`, `cursor`.
#[derive(Debug, Clone)]
pub struct Window {
    pub since_ms: u64,
    pub until_ms: u64,
    pub limit: i32,
    pub cursor: Option<String>,
}

fn time_param(req: &ApiRequest, name: &str) -> Result<Option<u64>, ApiError> {
    let Some(raw) = req.query(name)? else {
        return Ok(None);
    };
    let at = time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
        .map_err(|_| {
            ApiError::validation(vec![FieldError::new(
                name,
                "invalid",
                "must be an RFC 3339 timestamp",
            )])
        })?;
    Ok(Some(
        u64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0),
    ))
}

impl Window {
    pub fn from_request<K: crate::ids::IdKind>(req: &ApiRequest) -> Result<Self, ApiError> {
        let (limit, cursor) = page::params::<K>(req)?;
        let cursor = cursor.map(|id| id.to_string());
        let since_ms = time_param(req, "since")?.unwrap_or(0);
        let until_ms = time_param(req, "until")?.unwrap_or((1u64 << 48) - 1);
        // A reversed range is the client's mistake (DynamoDB would refuse the key condition).
        if since_ms > until_ms {
            return Err(ApiError::validation(vec![FieldError::new(
                "until",
                "invalid_range",
                "must not be before since",
            )]));
        }
        Ok(Self {
            since_ms,
            until_ms,
            limit,
            cursor,
        })
    }

    fn bounds(&self, prefix: &str) -> (String, String) {
        let lo = ulid::Ulid::from_parts(self.since_ms, 0);
        let hi = ulid::Ulid::from_parts(self.until_ms.min((1u64 << 48) - 1), u128::MAX);
        (format!("{prefix}_{lo}"), format!("{prefix}_{hi}"))
    }
}

/// Where to look: the base table or an index whose sort key is the id too, and optionally
/// only items whose `status` is one value.
pub(crate) struct Source<'a> {
    pub table_pk: String,
    pub index: Option<(&'a str, String)>,
    pub status: Option<&'a str>,
}

/// One page of items and the cursor for the next (if any).
pub(crate) async fn page<K: crate::ids::IdKind>(
    state: &AppState,
    source: Source<'_>,
    w: &Window,
) -> Result<(Vec<Item>, Option<String>), ApiError> {
    let (lo, hi) = w.bounds(K::PREFIX);
    let (pk_attr, sk_attr) = match source.index {
        Some((name, _)) => (format!("{name}pk"), format!("{name}sk")),
        None => ("pk".to_owned(), "sk".to_owned()),
    };
    let pk_value = source
        .index
        .as_ref()
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| source.table_pk.clone());
    let start_key = |id: &str| {
        let mut k = Item::new();
        k.insert("pk".into(), db::s(&source.table_pk));
        k.insert("sk".into(), db::s(id));
        if source.index.is_some() {
            k.insert(pk_attr.clone(), db::s(&pk_value));
            k.insert(sk_attr.clone(), db::s(id));
        }
        k
    };
    let mut start = w.cursor.as_deref().map(start_key);
    let mut out = Vec::new();
    for _ in 0..MAX_PAGES {
        let want = w.limit - i32::try_from(out.len()).unwrap_or(0);
        let mut q = state
            .dynamodb
            .query()
            .table_name(&state.config.table_name)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :lo AND :hi")
            .expression_attribute_names("#pk", &pk_attr)
            .expression_attribute_names("#sk", &sk_attr)
            .expression_attribute_values(":pk", db::s(&pk_value))
            .expression_attribute_values(":lo", db::s(&lo))
            .expression_attribute_values(":hi", db::s(&hi))
            .scan_index_forward(false)
            .limit(want)
            .set_exclusive_start_key(start.take());
        if let Some((name, _)) = source.index {
            q = q.index_name(name);
        }
        if let Some(status) = source.status {
            q = q
                .filter_expression("#st = :st")
                .expression_attribute_names("#st", "status")
                .expression_attribute_values(":st", db::s(status));
        }
        let res = q.send().await.map_err(storage_error)?;
        out.extend(res.items.unwrap_or_default());
        let last = res
            .last_evaluated_key
            .and_then(|k| k.get("sk").and_then(|v| v.as_s().ok()).cloned());
        match last {
            None => return Ok((out, None)),
            Some(id) if out.len() >= usize::try_from(w.limit).unwrap_or(0) => {
                return Ok((out, Some(id)))
            }
            Some(id) => start = Some(start_key(&id)),
        }
    }
    let cursor = start.and_then(|k| k.get("sk").and_then(|v| v.as_s().ok()).cloned());
    Ok((out, cursor))
}
