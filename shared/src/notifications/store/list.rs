//! The notification log (`GET /v1/notifications`): one project's notifications, newest first, filtered by status (index gsi1),
//! channel (gsi2) or neither (the table), then by template and time range. `status=failed` is
//! the terminal-failure family (`failed` and `bounced`): one query per member partition, each
//! bounded by the page size, merged by id. Each partition is read through `paging`: time ranges
//! are key conditions on the ULID sort key; the template (and the channel in a status index) is
//! a filter inside the one partition. Never a scan. The cursor is the last id read: the storage
//! key is rebuilt from the caller's project, so a cursor cannot point into another project's
//! partition.

use crate::db::StorageError;
use crate::ids::ProjectId;
use crate::notifications::model::{Channel, Notification, Status};
use crate::paging::{self, Page, PageRequest, Query, TimeRange};
use crate::AppState;

/// The statuses `status=failed` stands for: every way a notification ended without reaching
/// the recipient. `complained` is not one: the message was delivered (then reported as spam).
pub const FAILED_FAMILY: [Status; 2] = [Status::Failed, Status::Bounced];

/// What a page asks for (`notification_routes` reads it from the query string). `status` lists
/// the statuses asked for (one, or a family).
#[derive(Debug, Default)]
pub struct Filter {
    pub status: Option<&'static [Status]>,
    pub channel: Option<Channel>,
    pub template: Option<String>,
    pub time: TimeRange,
}

/// One page and the cursor of the next.
pub async fn list(
    state: &AppState,
    project: &ProjectId,
    filter: &Filter,
    page: &PageRequest,
) -> Result<Page<Notification>, StorageError> {
    let statuses: Vec<Option<Status>> = match filter.status {
        None => vec![None],
        Some(list) => list.iter().copied().map(Some).collect(),
    };
    if let [status] = statuses.as_slice() {
        return query_one(state, project, filter, page, *status).await;
    }
    // A family: each member's partition read like a page of its own, then merged newest first.
    // A partition that stopped early (more to read) caps the page at the id it stopped at:
    // anything older could still be behind it, so it waits for the next page.
    let mut items = Vec::new();
    let mut frontier: Option<String> = None;
    for status in statuses {
        let mut part = query_one(state, project, filter, page, status).await?;
        items.append(&mut part.items);
        if let Some(next) = part.next_cursor {
            frontier = Some(frontier.map_or(next.clone(), |f| f.max(next)));
        }
    }
    items.sort_by_key(|n| std::cmp::Reverse(n.id.to_string()));
    // An index lagging a status change could show one notification in two partitions.
    items.dedup_by(|a, b| a.id == b.id);
    if let Some(f) = &frontier {
        items.retain(|n| n.id.to_string() >= *f);
    }
    let limit = usize::try_from(page.limit).unwrap_or(0);
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|n| n.id.to_string())
    } else {
        frontier
    };
    Ok(Page { items, next_cursor })
}

/// One partition's page: the table, one status (gsi1) or one channel (gsi2).
async fn query_one(
    state: &AppState,
    project: &ProjectId,
    filter: &Filter,
    page: &PageRequest,
    status: Option<Status>,
) -> Result<Page<Notification>, StorageError> {
    let (index, partition, channel) = match (status, filter.channel) {
        // The status index keeps every channel: the channel is a filter there.
        (Some(status), channel) => (Some("gsi1"), super::status_pk(project, status), channel),
        (None, Some(channel)) => (Some("gsi2"), super::channel_pk(project, channel), None),
        (None, None) => (None, super::pk(project), None),
    };
    let range = filter.time.ids::<crate::ids::Notification>();
    let query = Query::newest_first(index, partition, range)
        .only("channel", channel.map(Channel::name))
        .only("template_name", filter.template.as_deref());
    let after = page.after(&super::pk(project));
    paging::page(state, &query, page.limit, after.as_ref())
        .await?
        .try_filter_map(|item| super::decode(state, project, item))
}
