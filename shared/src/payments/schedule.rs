//! When the reconciler checks a watched payment: a backoff grid counted from the payment's
//! creation (1 min, then gaps of 5 min, 30 min, 2 h, 12 h, then daily). Pure time arithmetic,
//! used by the store (which writes the next check time) and the reconciler (which reads it).

use time::OffsetDateTime;

/// The first check, after creation.
pub const FIRST: time::Duration = time::Duration::minutes(1);
/// Gaps between later checks; the last one repeats.
pub const GAPS: [time::Duration; 5] = [
    time::Duration::minutes(5),
    time::Duration::minutes(30),
    time::Duration::hours(2),
    time::Duration::hours(12),
    time::Duration::days(1),
];

/// Unix milliseconds of `at`.
pub fn unix_ms(at: OffsetDateTime) -> u64 {
    u64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

fn ms(d: time::Duration) -> u64 {
    u64::try_from(d.whole_milliseconds()).unwrap_or(0)
}

/// When a payment created at `created_ms` is first checked.
pub fn first_check(created_ms: u64) -> u64 {
    created_ms.saturating_add(ms(FIRST))
}

/// The first point of the payment's check grid after `now_ms`.
pub fn next_check(created_ms: u64, now_ms: u64) -> u64 {
    let mut at = first_check(created_ms);
    let mut gaps = GAPS
        .iter()
        .map(|g| ms(*g))
        .chain(std::iter::repeat(ms(GAPS[4])));
    while at <= now_ms {
        at = at.saturating_add(gaps.next().unwrap_or(86_400_000));
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60_000;

    #[test]
    fn checks_back_off_from_creation_then_go_daily() {
        let c = 1_700_000_000_000;
        assert_eq!(first_check(c), c + MIN);
        let mut at = c;
        let mut points = Vec::new();
        for _ in 0..8 {
            at = next_check(c, at);
            points.push((at - c) / MIN);
        }
        assert_eq!(
            points,
            [1, 6, 36, 156, 876, 2316, 3756, 5196],
            "1 min, then +5 min, +30 min, +2 h, +12 h, then daily"
        );
        // A late run lands on the grid, never earlier than now.
        assert_eq!(next_check(c, c + 40 * MIN), c + 156 * MIN);
        assert_eq!(next_check(c, c + 6 * MIN), c + 36 * MIN);
    }
}
