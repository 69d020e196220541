//! Every listing reads one partition (of the table or of an index, never a scan) through one
//! [`Query`]: a key [`Range`] on its sort key, optional `attribute = value` filters, in one
//! direction. [`page`] reads one page of it, [`all`] every item. Both are crate-private: stores
//! build the keys they own and expose typed `list(project, filter, …)` functions, so no public
//! function takes a raw key, and no route handler writes an expression.
//!
//! A page is full or the partition is exhausted: DynamoDB's `Limit` counts items before the
//! filter, so [`page`] keeps reading (at most [`MAX_READS`] queries) until it has `limit` items.
//! The cursor is the sort key of the last item read (an id, or a template name); the next page
//! starts strictly after it. A cursor never carries a partition key: the store rebuilds the
//! start key from the caller's project ([`After`]), so it cannot point into another project.
//!
//! Ids are ULIDs, so a time range is a `BETWEEN` on the id sort key ([`Range::ids`]); [`Window`]
//! is the common `since`/`until`/`limit`/`cursor` request of such listings.

use crate::db::{self, storage_error, Item, StorageError};
use crate::error::{ApiError, FieldError};
use crate::http::{page, ApiRequest};
use crate::ids::IdKind;
use crate::AppState;

pub use crate::http::page::MAX_LIMIT;
/// Queries one page may take when filters drop most of what DynamoDB reads.
const MAX_READS: usize = 20;
/// The largest millisecond time a ULID holds.
const MAX_MS: u64 = (1u64 << 48) - 1;

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
    Ok(Some(epoch_ms(at)))
}

/// Milliseconds since the epoch (0 before it).
pub(crate) fn epoch_ms(at: time::OffsetDateTime) -> u64 {
    u64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

impl Window {
    pub fn from_request<K: IdKind>(req: &ApiRequest) -> Result<Self, ApiError> {
        let (limit, cursor) = page::params::<K>(req)?;
        let cursor = cursor.map(|id| id.to_string());
        let since_ms = time_param(req, "since")?.unwrap_or(0);
        let until_ms = time_param(req, "until")?.unwrap_or(MAX_MS);
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

    /// The ids of kind `K` this window covers.
    pub(crate) fn range<K: IdKind>(&self) -> Range {
        Range::ids::<K>(Some(self.since_ms), Some(self.until_ms))
    }

    /// Where the page starts, for items stored in the table partition `table_pk`.
    pub(crate) fn after(&self, table_pk: &str) -> Option<After> {
        self.cursor
            .as_deref()
            .map(|c| After::in_partition(table_pk, c))
    }
}

/// Which sort keys of the partition are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Range {
    /// Every one.
    All,
    /// From `.0` to `.1`, both included.
    Between(String, String),
    /// Those strictly before this one.
    Below(String),
}

impl Range {
    /// Ids of kind `K` (`{prefix}_{ulid}`) minted from `since_ms` to `until_ms` (either open).
    pub(crate) fn ids<K: IdKind>(since_ms: Option<u64>, until_ms: Option<u64>) -> Self {
        let prefix = K::PREFIX;
        let lo = ulid::Ulid::from_parts(since_ms.unwrap_or(0).min(MAX_MS), 0);
        let hi = ulid::Ulid::from_parts(until_ms.unwrap_or(MAX_MS).min(MAX_MS), u128::MAX);
        Self::Between(format!("{prefix}_{lo}"), format!("{prefix}_{hi}"))
    }
}

/// One partition read: the table's (`index: None`) or an index's, whose key attributes are
/// `{index}pk` / `{index}sk` (`gsi1pk`, `duesk`, …).
#[derive(Debug, Clone)]
pub(crate) struct Query {
    pub index: Option<&'static str>,
    /// The partition key value.
    pub pk: String,
    pub range: Range,
    /// `attribute = value`, all of them.
    pub filters: Vec<(&'static str, String)>,
    /// Descending sort keys (newest first for ids).
    pub backward: bool,
    pub consistent: bool,
}

impl Query {
    /// A newest-first read of ids in one partition, unfiltered.
    pub(crate) fn newest_first(index: Option<&'static str>, pk: String, range: Range) -> Self {
        Self {
            index,
            pk,
            range,
            filters: Vec::new(),
            backward: true,
            consistent: false,
        }
    }

    /// Every item of one partition, in sort key order.
    pub(crate) fn partition(index: Option<&'static str>, pk: String) -> Self {
        Self {
            backward: false,
            ..Self::newest_first(index, pk, Range::All)
        }
    }

    /// Adds `attribute = value` to the filter, if there is a value.
    pub(crate) fn only(
        mut self,
        attribute: &'static str,
        value: Option<impl Into<String>>,
    ) -> Self {
        if let Some(value) = value {
            self.filters.push((attribute, value.into()));
        }
        self
    }

    fn key_attributes(&self) -> (String, String) {
        match self.index {
            Some(name) => (format!("{name}pk"), format!("{name}sk")),
            None => ("pk".to_owned(), "sk".to_owned()),
        }
    }

    /// `KeyConditionExpression` and `FilterExpression` with their names and values.
    fn expressions(&self) -> Expressions {
        let (pk_attr, sk_attr) = self.key_attributes();
        let mut e = Expressions {
            key: "#pk = :pk".to_owned(),
            filter: None,
            names: vec![("#pk".to_owned(), pk_attr)],
            values: vec![(":pk".to_owned(), self.pk.clone())],
        };
        let mut sort_key = |condition: &str, values: &[(&str, &String)]| {
            e.key.push_str(" AND ");
            e.key.push_str(condition);
            e.names.push(("#sk".to_owned(), sk_attr.clone()));
            for (name, value) in values {
                e.values.push(((*name).to_owned(), (*value).clone()));
            }
        };
        match &self.range {
            Range::All => {}
            Range::Between(lo, hi) => {
                sort_key("#sk BETWEEN :lo AND :hi", &[(":lo", lo), (":hi", hi)])
            }
            Range::Below(hi) => sort_key("#sk < :hi", &[(":hi", hi)]),
        }
        let mut filters = Vec::new();
        for (i, (attribute, value)) in self.filters.iter().enumerate() {
            filters.push(format!("#f{i} = :f{i}"));
            e.names.push((format!("#f{i}"), (*attribute).to_owned()));
            e.values.push((format!(":f{i}"), value.clone()));
        }
        if !filters.is_empty() {
            e.filter = Some(filters.join(" AND "));
        }
        e
    }

    /// One DynamoDB Query from `start`.
    async fn read(
        &self,
        state: &AppState,
        limit: Option<i32>,
        start: Option<Item>,
    ) -> Result<(Vec<Item>, Option<Item>), StorageError> {
        let e = self.expressions();
        let mut q = state
            .dynamodb
            .query()
            .table_name(&state.config.table_name)
            .set_index_name(self.index.map(str::to_owned))
            .key_condition_expression(e.key)
            .set_filter_expression(e.filter)
            .scan_index_forward(!self.backward)
            .set_limit(limit)
            .set_exclusive_start_key(start);
        if self.consistent {
            q = q.consistent_read(true);
        }
        for (name, attribute) in e.names {
            q = q.expression_attribute_names(name, attribute);
        }
        for (name, value) in e.values {
            q = q.expression_attribute_values(name, db::s(value));
        }
        let out = q.send().await.map_err(storage_error)?;
        Ok((out.items.unwrap_or_default(), out.last_evaluated_key))
    }

    /// The start key that resumes after `after`.
    fn start_key(&self, after: &After) -> Item {
        let mut k = Item::new();
        k.insert("pk".into(), db::s(&after.table_pk));
        k.insert("sk".into(), db::s(&after.table_sk));
        if self.index.is_some() {
            let (pk_attr, sk_attr) = self.key_attributes();
            k.insert(pk_attr, db::s(&self.pk));
            k.insert(sk_attr, db::s(&after.sk));
        }
        k
    }

    /// The cursor a last-evaluated key stands for: its sort key in the partition read.
    fn cursor(&self, last: &Item) -> Option<String> {
        let (_, sk_attr) = self.key_attributes();
        last.get(&sk_attr).and_then(|v| v.as_s().ok()).cloned()
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Expressions {
    key: String,
    filter: Option<String>,
    names: Vec<(String, String)>,
    values: Vec<(String, String)>,
}

/// The item a page resumes after: its sort key in the partition read, and its table key.
#[derive(Debug, Clone)]
pub(crate) struct After {
    pub sk: String,
    pub table_pk: String,
    pub table_sk: String,
}

impl After {
    /// An item of table partition `table_pk` whose sort key (in the table and any index read)
    /// is `sk`.
    pub(crate) fn in_partition(table_pk: &str, sk: &str) -> Self {
        Self {
            sk: sk.to_owned(),
            table_pk: table_pk.to_owned(),
            table_sk: sk.to_owned(),
        }
    }
}

/// One page of at most `limit` items after `after`, and the cursor of the next (if any).
pub(crate) async fn page(
    state: &AppState,
    query: &Query,
    limit: i32,
    after: Option<&After>,
) -> Result<(Vec<Item>, Option<String>), StorageError> {
    let mut start = after.map(|a| query.start_key(a));
    let mut out = Vec::new();
    for _ in 0..MAX_READS {
        let want = limit - i32::try_from(out.len()).unwrap_or(limit);
        let (items, last) = query.read(state, Some(want), start.take()).await?;
        out.extend(items);
        match last {
            None => return Ok((out, None)),
            Some(last) if out.len() >= usize::try_from(limit).unwrap_or(0) => {
                return Ok((out, query.cursor(&last)))
            }
            Some(last) => start = Some(last),
        }
    }
    Ok((out, start.and_then(|last| query.cursor(&last))))
}

/// Every item of the query, page after page.
pub(crate) async fn all(state: &AppState, query: &Query) -> Result<Vec<Item>, StorageError> {
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let (items, last) = query.read(state, None, start).await?;
        out.extend(items);
        match last {
            None => return Ok(out),
            last => start = last,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{Notification, Refund};

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn an_id_range_spans_every_id_minted_in_it() {
        let Range::Between(lo, hi) = Range::ids::<Notification>(Some(1_000), Some(2_000)) else {
            panic!("not a between");
        };
        let inside = ulid::Ulid::from_parts(1_500, 42);
        let first = ulid::Ulid::from_parts(1_000, 0);
        let last = ulid::Ulid::from_parts(2_000, (1u128 << 80) - 1);
        for id in [inside, first, last] {
            let id = format!("ntf_{id}");
            assert!(lo <= id && id <= hi, "{id} outside {lo}..{hi}");
        }
        let later = format!("ntf_{}", ulid::Ulid::from_parts(2_001, 0));
        assert!(later > hi);
        // Open ends take every id of the kind, and no other kind.
        let Range::Between(lo, hi) = Range::ids::<Refund>(None, None) else {
            panic!("not a between");
        };
        assert_eq!(lo, "ref_00000000000000000000000000");
        assert_eq!(hi, "ref_7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
        // A time past what a ULID holds is the last one, not a wrapped-around early one.
        assert_eq!(
            Range::ids::<Refund>(None, Some(u64::MAX)),
            Range::ids::<Refund>(None, None)
        );
    }

    #[test]
    fn key_conditions_name_the_index_attributes() {
        let q = Query::newest_first(Some("gsi2"), "P#x".into(), Range::Below("9".into()));
        let e = q.expressions();
        assert_eq!(e.key, "#pk = :pk AND #sk < :hi");
        assert_eq!(e.filter, None);
        assert_eq!(e.names, pairs(&[("#pk", "gsi2pk"), ("#sk", "gsi2sk")]));
        assert_eq!(e.values, pairs(&[(":pk", "P#x"), (":hi", "9")]));
        let e = Query::partition(None, "P#y".into()).expressions();
        assert_eq!(e.key, "#pk = :pk");
        assert_eq!(e.names, pairs(&[("#pk", "pk")]));
    }

    #[test]
    fn filters_are_all_equalities_joined() {
        let q = Query::newest_first(None, "P#x".into(), Range::Between("a".into(), "b".into()))
            .only("status", Some("sent"))
            .only("channel", None::<String>)
            .only("template_name", Some("welcome"));
        let e = q.expressions();
        assert_eq!(e.key, "#pk = :pk AND #sk BETWEEN :lo AND :hi");
        assert_eq!(e.filter.as_deref(), Some("#f0 = :f0 AND #f1 = :f1"));
        assert!(e.names.contains(&("#f1".into(), "template_name".into())));
        assert!(e.values.contains(&(":f0".into(), "sent".into())));
    }

    #[test]
    fn a_cursor_resumes_in_the_callers_partition_and_the_index() {
        let table = Query::partition(None, "P#a#TPL".into());
        let k = table.start_key(&After::in_partition("P#a#TPL", "welcome"));
        assert_eq!(k.len(), 2);
        assert_eq!(k.get("sk"), Some(&db::s("welcome")));
        let index = Query::partition(Some("gsi1"), "PROJECTS".into());
        let after = After {
            sk: "prj_1".into(),
            table_pk: "P#prj_1".into(),
            table_sk: "PROJECT".into(),
        };
        let k = index.start_key(&after);
        assert_eq!(k.get("gsi1pk"), Some(&db::s("PROJECTS")));
        assert_eq!(k.get("gsi1sk"), Some(&db::s("prj_1")));
        assert_eq!(k.get("sk"), Some(&db::s("PROJECT")));
        assert_eq!(index.cursor(&k).as_deref(), Some("prj_1"));
    }
}
