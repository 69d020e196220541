//! Every listing reads one partition (of the table or of an index, never a scan) through one
//! [`Query`] (`query.rs`: a key [`Range`] on its sort key, optional `attribute = value` filters,
//! in one direction; [`page`] reads one page of it, [`all`] every item). Both are
//! crate-private: stores build the keys they own and expose typed
//! `list(state, project, &filter, &PageRequest) -> Page<T>` functions, so no public function
//! takes a raw key, and no route handler writes an expression.
//!
//! Every list route looks the same: it parses a [`PageRequest`] (`limit`, `cursor`) and the
//! store's typed filter (with a [`TimeRange`] where the listing has one), calls the store's
//! `list`, and renders the [`Page`].
//!
//! The cursor is the sort key of the last item read (an id, or a template name); the next page
//! starts strictly after it. A cursor never carries a partition key: the store rebuilds the
//! start key from the caller's project ([`After`]), so it cannot point into another project.
//! Ids are ULIDs, so a time range is a `BETWEEN` on the id sort key ([`Range::ids`]).

mod query;

pub(crate) use query::{all, page, Query};

use crate::error::{ApiError, FieldError};
use crate::http::{page as params, ApiRequest};
use crate::ids::IdKind;

pub use crate::http::page::{DEFAULT_LIMIT, MAX_LIMIT};
/// The largest millisecond time a ULID holds.
const MAX_MS: u64 = (1u64 << 48) - 1;

/// What page a listing wants: at most `limit` items after `cursor` (the last sort key of the
/// previous page, as its `next_cursor` gave it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: i32,
    pub cursor: Option<String>,
}

impl PageRequest {
    /// The first page of `limit` items.
    pub fn first(limit: i32) -> Self {
        Self {
            limit,
            cursor: None,
        }
    }

    /// `limit` and `cursor` (an id of kind `K`); a 422 listing both when either is wrong.
    pub fn from_request<K: IdKind>(req: &ApiRequest) -> Result<Self, ApiError> {
        let (limit, cursor) = params::params::<K>(req)?;
        Ok(Self {
            limit,
            cursor: cursor.map(|id| id.to_string()),
        })
    }

    /// `limit` and `cursor` (an id of kind `K`), their problems added to `errors` (for a
    /// route that reports them with those of its filter).
    pub fn read<K: IdKind>(
        req: &ApiRequest,
        errors: &mut Vec<FieldError>,
    ) -> Result<Self, ApiError> {
        let limit = params::limit(req, errors)?;
        let cursor = params::cursor::<K>(req, errors)?;
        Ok(Self {
            limit,
            cursor: cursor.map(|id| id.to_string()),
        })
    }

    /// Where the page starts, for items stored in the table partition `table_pk` under their
    /// cursor's sort key.
    pub(crate) fn after(&self, table_pk: &str) -> Option<After> {
        self.cursor
            .as_deref()
            .map(|c| After::in_partition(table_pk, c))
    }
}

/// One page of a listing and the cursor of the next (`None`: the listing is exhausted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// The same page with each item turned into zero or one `U` (an expired item, another
    /// project's), under the same cursor.
    pub(crate) fn try_filter_map<U, E>(
        self,
        mut f: impl FnMut(T) -> Result<Option<U>, E>,
    ) -> Result<Page<U>, E> {
        let mut items = Vec::with_capacity(self.items.len());
        for item in self.items {
            items.extend(f(item)?);
        }
        Ok(Page {
            items,
            next_cursor: self.next_cursor,
        })
    }
}

/// Ids minted from `since_ms` to `until_ms` (milliseconds, both included); the default is
/// every time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub since_ms: u64,
    pub until_ms: u64,
}

impl Default for TimeRange {
    fn default() -> Self {
        Self {
            since_ms: 0,
            until_ms: MAX_MS,
        }
    }
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

impl TimeRange {
    /// `since` and `until` (RFC 3339), either open.
    pub fn from_request(req: &ApiRequest) -> Result<Self, ApiError> {
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
        Ok(Self { since_ms, until_ms })
    }

    /// From `from` to `to`, either open.
    pub fn between(from: Option<time::OffsetDateTime>, to: Option<time::OffsetDateTime>) -> Self {
        Self {
            since_ms: from.map_or(0, epoch_ms),
            until_ms: to.map_or(MAX_MS, epoch_ms),
        }
    }

    pub fn contains(&self, ms: u64) -> bool {
        (self.since_ms..=self.until_ms).contains(&ms)
    }

    /// The ids of kind `K` this range covers.
    pub(crate) fn ids<K: IdKind>(&self) -> Range {
        Range::ids::<K>(Some(self.since_ms), Some(self.until_ms))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{Notification, Refund};

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
        // An open time range is every id, as the open id range is.
        assert_eq!(
            TimeRange::default().ids::<Refund>(),
            Range::ids::<Refund>(None, None)
        );
        assert_eq!(
            TimeRange::between(None, None).ids::<Refund>(),
            Range::ids::<Refund>(None, None)
        );
    }
}
