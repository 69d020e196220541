//! The one partition read behind every listing: a [`Query`] (the table's or an index's
//! partition, a key [`Range`], `attribute = value` filters, a direction), read as one [`page`]
//! or as [`all`] of it.
//!
//! A page is full or the partition is exhausted: DynamoDB's `Limit` counts items before the
//! filter, so [`page`] keeps reading (at most [`MAX_READS`] queries) until it has `limit` items.

use super::{After, Page, Range};
use crate::db::{self, storage_error, Item, StorageError};
use crate::AppState;

/// Queries one page may take when filters drop most of what DynamoDB reads.
const MAX_READS: usize = 20;

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

/// One page of at most `limit` items after `after`, and the cursor of the next (if any).
pub(crate) async fn page(
    state: &AppState,
    query: &Query,
    limit: i32,
    after: Option<&After>,
) -> Result<Page<Item>, StorageError> {
    let page = |items, next_cursor| Page { items, next_cursor };
    let mut start = after.map(|a| query.start_key(a));
    let mut out = Vec::new();
    for _ in 0..MAX_READS {
        let want = limit - i32::try_from(out.len()).unwrap_or(limit);
        let (items, last) = query.read(state, Some(want), start.take()).await?;
        out.extend(items);
        match last {
            None => return Ok(page(out, None)),
            Some(last) if out.len() >= usize::try_from(limit).unwrap_or(0) => {
                return Ok(page(out, query.cursor(&last)))
            }
            Some(last) => start = Some(last),
        }
    }
    let next = start.and_then(|last| query.cursor(&last));
    Ok(page(out, next))
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

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
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
