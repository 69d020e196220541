//! The service's notion of "now".
//!
//! Production reads the system clock. The local stack can shift it forward so tests exercise
//! schedules that span days (webhook retries, reconciliation) without sleeping through them.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// Milliseconds added to the system clock; `None` in production.
    offset_ms: Option<Arc<AtomicI64>>,
}

impl Clock {
    pub fn system() -> Self {
        Self { offset_ms: None }
    }

    /// A clock that can be moved forward with [`Clock::advance`] (local stack and tests only).
    pub fn adjustable() -> Self {
        Self {
            offset_ms: Some(Arc::new(AtomicI64::new(0))),
        }
    }

    pub fn now(&self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc();
        match &self.offset_ms {
            None => now,
            Some(offset) => now + Duration::milliseconds(offset.load(Ordering::Relaxed)),
        }
    }

    /// Moves an adjustable clock forward; returns false on the system clock, which never moves.
    pub fn advance(&self, by: Duration) -> bool {
        match &self.offset_ms {
            None => false,
            Some(offset) => {
                let ms = i64::try_from(by.whole_milliseconds()).unwrap_or(i64::MAX);
                offset.fetch_add(ms, Ordering::Relaxed);
                true
            }
        }
    }
}

/// RFC 3339 in UTC with millisecond precision, the API's one time format.
pub fn rfc3339(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    at.format(&format)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adjustable_clock_moves_forward_and_system_clock_does_not() {
        let clock = Clock::adjustable();
        let before = clock.now();
        assert!(clock.advance(Duration::hours(30)));
        assert!(clock.now() - before >= Duration::hours(30));
        assert!(!Clock::system().advance(Duration::hours(1)));
    }

    #[test]
    fn formats_rfc3339_utc_millis() {
        let at = time::macros::datetime!(2026-11-22 04:05:06.789 -3);
        assert_eq!(rfc3339(at), "2026-11-22T07:05:06.789Z");
    }
}
