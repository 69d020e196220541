//! When to try a webhook delivery again.
//!
//! Attempt 1 goes out immediately; after a failed attempt `n` the next one waits
//! [`RETRY_DELAYS`]`[n - 1]` with ±20 % jitter: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h,
//! 24 h, so ten attempts spread over about three days (75 h 35 min 5 s before jitter).
//!
//! Every failure kind retries until the schedule ends, except `410 Gone` (the receiver asked us
//! to stop: disable the endpoint). Two adjustments, both only ever *lengthen* a wait:
//! - throttling (429/502/503/504) and timeouts wait at least [`THROTTLE_FLOOR`] (60 s, as Svix
//!   does), so a struggling receiver is not hit again 5 s later;
//! - a throttling response's `Retry-After` is honoured when it asks for longer than the
//!   schedule, capped at [`RETRY_AFTER_CAP`] (24 h) so a receiver cannot park a message for
//!   weeks. A shorter `Retry-After` does not speed retries up, and it never adds attempts.

use rand::Rng;
use time::{Duration, OffsetDateTime};

/// Waits before attempts 2..=10; its length fixes the number of attempts.
pub const RETRY_DELAYS: [Duration; 9] = [
    Duration::seconds(5),
    Duration::minutes(5),
    Duration::minutes(30),
    Duration::hours(2),
    Duration::hours(5),
    Duration::hours(10),
    Duration::hours(14),
    Duration::hours(20),
    Duration::hours(24),
];

/// Total attempts including the first, immediate one.
pub const MAX_ATTEMPTS: u32 = RETRY_DELAYS.len() as u32 + 1;
/// Shortest wait after a throttling response or a timeout.
pub const THROTTLE_FLOOR: Duration = Duration::seconds(60);
/// Longest wait a `Retry-After` header can impose.
pub const RETRY_AFTER_CAP: Duration = Duration::hours(24);
/// Jitter as a fraction of the scheduled delay, both ways.
pub const JITTER: f64 = 0.2;

/// What one delivery attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx: delivered, nothing more to do.
    Success,
    /// 410: the receiver is gone; disable the endpoint and stop.
    Gone,
    /// 429, 502, 503 or 504; `retry_after` is the parsed `Retry-After` header, if any.
    Throttled {
        /// The wait the receiver asked for (already relative to the response time).
        retry_after: Option<Duration>,
    },
    /// No response in time.
    Timeout,
    /// Could not connect or the connection broke (DNS, refused, reset, TLS, SSRF refusal).
    Network,
    /// Any other status, 3xx included (redirects are not followed).
    Failed(u16),
}

impl Outcome {
    /// Classifies an HTTP status; `retry_after` is the raw header, read only when throttled.
    pub fn from_status(status: u16, retry_after: Option<&str>, now: OffsetDateTime) -> Self {
        match status {
            200..=299 => Self::Success,
            410 => Self::Gone,
            429 | 502 | 503 | 504 => Self::Throttled {
                retry_after: retry_after.and_then(|v| parse_retry_after(v, now)),
            },
            other => Self::Failed(other),
        }
    }

    /// Classifies a transport error from the HTTP client.
    pub fn from_error(error: &reqwest::Error) -> Self {
        if error.is_timeout() {
            Self::Timeout
        } else {
            Self::Network
        }
    }

    /// Whether the message is delivered.
    pub fn is_success(&self) -> bool {
        matches!(self, Self::Success)
    }

    /// Whether the endpoint asked to be disabled (410 Gone).
    pub fn disables_endpoint(&self) -> bool {
        matches!(self, Self::Gone)
    }
}

/// When to make the attempt after `attempt` (1-based, the one that just ended with `outcome`);
/// `None` means stop: delivered, gone, or the schedule is exhausted.
pub fn next_attempt(attempt: u32, outcome: Outcome, now: OffsetDateTime) -> Option<OffsetDateTime> {
    next_attempt_with(attempt, outcome, now, &mut rand::thread_rng())
}

/// [`next_attempt`] with the jitter drawn from `rng` (tests pass a seeded one).
pub fn next_attempt_with<R: Rng + ?Sized>(
    attempt: u32,
    outcome: Outcome,
    now: OffsetDateTime,
    rng: &mut R,
) -> Option<OffsetDateTime> {
    delay_after(attempt, outcome, rng).and_then(|delay| now.checked_add(delay))
}

/// The wait before the next attempt, or `None` to stop (see [`next_attempt`]).
pub fn delay_after<R: Rng + ?Sized>(
    attempt: u32,
    outcome: Outcome,
    rng: &mut R,
) -> Option<Duration> {
    let floor = match outcome {
        Outcome::Success | Outcome::Gone => return None,
        Outcome::Throttled { retry_after } => {
            let asked = retry_after.unwrap_or(Duration::ZERO).min(RETRY_AFTER_CAP);
            asked.max(THROTTLE_FLOOR)
        }
        Outcome::Timeout => THROTTLE_FLOOR,
        Outcome::Network | Outcome::Failed(_) => Duration::ZERO,
    };
    let index = usize::try_from(attempt.checked_sub(1)?).ok()?;
    let scheduled = *RETRY_DELAYS.get(index)?;
    Some(jitter(scheduled, rng).max(floor))
}

fn jitter<R: Rng + ?Sized>(delay: Duration, rng: &mut R) -> Duration {
    let factor = rng.gen_range((1.0 - JITTER)..=(1.0 + JITTER));
    let ms = delay.whole_milliseconds() as f64 * factor;
    // Delays are at most a day, far inside i64 milliseconds; the cast cannot saturate.
    Duration::milliseconds(ms.round() as i64)
}

/// Parses a `Retry-After` value: delta-seconds, or an HTTP-date (IMF-fixdate, e.g.
/// `Sun, 06 Nov 1994 08:49:37 GMT`, or asctime) turned into a wait from `now`. A date in the
/// past means no wait. Unparseable values (including the obsolete RFC 850 date form) are
/// `None`, so the schedule applies.
pub fn parse_retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Absurdly long numbers are still a request to wait a long time: saturate, not ignore.
        let secs = value.parse::<i64>().unwrap_or(i64::MAX);
        return Some(Duration::seconds(secs));
    }
    let at = parse_http_date(value)?;
    Some((at - now).max(Duration::ZERO))
}

fn parse_http_date(value: &str) -> Option<OffsetDateTime> {
    use time::macros::format_description;
    let imf = format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let asctime = format_description!(
        "[weekday repr:short] [month repr:short] [day padding:space] [hour]:[minute]:[second] [year]"
    );
    time::PrimitiveDateTime::parse(value, &imf)
        .or_else(|_| time::PrimitiveDateTime::parse(value, &asctime))
        .ok()
        .map(time::PrimitiveDateTime::assume_utc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn now() -> OffsetDateTime {
        // 1994-11-06 08:49:37 UTC, the RFC 9110 example date.
        OffsetDateTime::from_unix_timestamp(784_111_777).unwrap()
    }

    fn rng() -> StdRng {
        StdRng::seed_from_u64(7)
    }

    #[test]
    fn schedule_spans_about_three_days_and_ends() {
        let total: Duration = RETRY_DELAYS.iter().copied().sum();
        assert_eq!(
            total,
            Duration::hours(75) + Duration::minutes(35) + Duration::seconds(5)
        );
        assert_eq!(MAX_ATTEMPTS, 10);
        let mut rng = rng();
        for attempt in 1..MAX_ATTEMPTS {
            assert!(delay_after(attempt, Outcome::Failed(500), &mut rng).is_some());
        }
        assert_eq!(
            delay_after(MAX_ATTEMPTS, Outcome::Failed(500), &mut rng),
            None
        );
        assert_eq!(delay_after(0, Outcome::Failed(500), &mut rng), None);
        assert_eq!(next_attempt(MAX_ATTEMPTS, Outcome::Network, now()), None);
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        let mut rng = rng();
        for (i, scheduled) in RETRY_DELAYS.iter().enumerate() {
            let attempt = u32::try_from(i).unwrap() + 1;
            for _ in 0..200 {
                let d = delay_after(attempt, Outcome::Network, &mut rng).unwrap();
                let ms = d.whole_milliseconds() as f64;
                let base = scheduled.whole_milliseconds() as f64;
                assert!(
                    ms >= base * 0.8 - 1.0 && ms <= base * 1.2 + 1.0,
                    "{attempt}: {d}"
                );
            }
        }
    }

    #[test]
    fn seeded_rng_is_reproducible() {
        let a = next_attempt_with(3, Outcome::Failed(500), now(), &mut rng());
        let b = next_attempt_with(3, Outcome::Failed(500), now(), &mut rng());
        assert_eq!(a, b);
        let at = a.unwrap();
        assert!(at >= now() + Duration::minutes(24) && at <= now() + Duration::minutes(36));
    }

    #[test]
    fn success_and_gone_stop() {
        assert_eq!(next_attempt(1, Outcome::Success, now()), None);
        assert_eq!(next_attempt(1, Outcome::Gone, now()), None);
        assert!(Outcome::Gone.disables_endpoint());
        assert!(Outcome::Success.is_success());
    }

    #[test]
    fn classification() {
        let n = now();
        assert_eq!(Outcome::from_status(200, None, n), Outcome::Success);
        assert_eq!(Outcome::from_status(204, Some("10"), n), Outcome::Success);
        assert_eq!(Outcome::from_status(410, None, n), Outcome::Gone);
        assert_eq!(Outcome::from_status(301, None, n), Outcome::Failed(301));
        assert_eq!(
            Outcome::from_status(400, Some("10"), n),
            Outcome::Failed(400)
        );
        assert_eq!(Outcome::from_status(500, None, n), Outcome::Failed(500));
        for status in [429, 502, 503, 504] {
            assert_eq!(
                Outcome::from_status(status, Some("120"), n),
                Outcome::Throttled {
                    retry_after: Some(Duration::seconds(120))
                }
            );
        }
        assert_eq!(
            Outcome::from_status(503, Some("soon"), n),
            Outcome::Throttled { retry_after: None }
        );
    }

    #[test]
    fn throttling_and_timeouts_wait_at_least_a_minute() {
        let mut rng = rng();
        let throttled = Outcome::Throttled { retry_after: None };
        assert_eq!(delay_after(1, throttled, &mut rng), Some(THROTTLE_FLOOR));
        assert_eq!(
            delay_after(1, Outcome::Timeout, &mut rng),
            Some(THROTTLE_FLOOR)
        );
        let connect = delay_after(1, Outcome::Network, &mut rng).unwrap();
        assert!(connect < Duration::seconds(7));
        let later = delay_after(2, Outcome::Timeout, &mut rng).unwrap();
        assert!(later >= Duration::minutes(4));
    }

    #[test]
    fn retry_after_lengthens_but_never_shortens_and_is_capped() {
        let mut rng = rng();
        let ask = |secs| Outcome::Throttled {
            retry_after: Some(Duration::seconds(secs)),
        };
        assert_eq!(
            delay_after(1, ask(600), &mut rng),
            Some(Duration::minutes(10))
        );
        let short = delay_after(3, ask(1), &mut rng).unwrap();
        assert!(short >= Duration::minutes(24));
        assert_eq!(
            delay_after(1, ask(3 * 86_400), &mut rng),
            Some(RETRY_AFTER_CAP)
        );
        assert_eq!(delay_after(MAX_ATTEMPTS, ask(600), &mut rng), None);
    }

    #[test]
    fn retry_after_parsing() {
        let n = now();
        assert_eq!(parse_retry_after("120", n), Some(Duration::seconds(120)));
        assert_eq!(parse_retry_after(" 0 ", n), Some(Duration::ZERO));
        assert!(parse_retry_after("99999999999999999999999", n).unwrap() > RETRY_AFTER_CAP);
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:51:37 GMT", n),
            Some(Duration::minutes(2))
        );
        assert_eq!(
            parse_retry_after("Sun Nov  6 08:50:37 1994", n),
            Some(Duration::minutes(1))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", n),
            Some(Duration::ZERO)
        );
        for bad in ["", "-5", "1.5", "soon", "Sunday, 06-Nov-94 08:49:37 GMT"] {
            assert_eq!(parse_retry_after(bad, n), None, "{bad:?}");
        }
    }
}
