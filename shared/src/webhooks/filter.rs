//! Event type names and the endpoint filters that select them.
//!
//! An event type is 1–8 dot-separated lowercase segments of `[a-z0-9_]`, at most 100 characters
//! (`order.paid`, `order.paid.partial`). A filter is either an exact event type or a prefix
//! ending in `.*`, where `*` stands for **one or more** trailing segments: `order.*` matches
//! `order.created` and `order.paid.partial` but not `order` itself. The filter `*` alone
//! matches every event. `*` is only valid as a whole, final segment (`ord*` and `*.paid` are
//! refused), so shops cannot write patterns whose meaning would surprise them.

use std::fmt;

/// Most segments an event type or filter may have.
pub const MAX_SEGMENTS: usize = 8;
/// Longest event type or filter, in bytes (all valid characters are ASCII).
pub const MAX_LEN: usize = 100;

/// Why an event type or filter was refused. Stable: exposed to API clients as a validation detail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// The string is empty.
    #[error("must not be empty")]
    Empty,
    /// Longer than [`MAX_LEN`] bytes.
    #[error("must be at most {MAX_LEN} characters")]
    TooLong,
    /// More than [`MAX_SEGMENTS`] dot-separated segments.
    #[error("must have at most {MAX_SEGMENTS} segments")]
    TooManySegments,
    /// A segment is empty (leading, trailing or doubled dot).
    #[error("segment {0} is empty")]
    EmptySegment(usize),
    /// A segment has a character outside `[a-z0-9_]` (1-based segment number).
    #[error("segment {0} may only contain a-z, 0-9 and _")]
    InvalidSegment(usize),
    /// `*` appears other than as the whole last segment of a filter, or in an event type.
    #[error("`*` is only allowed as the whole last segment of a filter")]
    MisplacedWildcard,
}

/// A validated event type name such as `order.paid`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventType(String);

impl EventType {
    /// Validates `s` as an event type name.
    pub fn parse(s: &str) -> Result<Self, FilterError> {
        check_shape(s)?;
        for (i, segment) in s.split('.').enumerate() {
            check_segment(segment, i + 1)?;
        }
        Ok(Self(s.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for EventType {
    type Err = FilterError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A validated endpoint filter: an exact event type, `prefix.*`, or `*`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventFilter(String);

impl EventFilter {
    /// The filter that matches every event.
    pub fn all() -> Self {
        Self("*".to_owned())
    }

    /// Validates `s` as a filter.
    pub fn parse(s: &str) -> Result<Self, FilterError> {
        check_shape(s)?;
        let segments: Vec<&str> = s.split('.').collect();
        let last = segments.len();
        for (i, segment) in segments.iter().enumerate() {
            let n = i + 1;
            if *segment == "*" && n == last {
                continue;
            }
            check_segment(segment, n)?;
        }
        Ok(Self(s.to_owned()))
    }

    /// The filter as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this filter selects `event`.
    pub fn matches(&self, event: &EventType) -> bool {
        if self.0 == "*" {
            return true;
        }
        match self.0.strip_suffix(".*") {
            // The dot check makes `order.*` miss `orders.created` and `order` itself.
            Some(prefix) => event
                .0
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.len() > 1 && rest.starts_with('.')),
            None => self.0 == event.0,
        }
    }
}

impl fmt::Display for EventFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for EventFilter {
    type Err = FilterError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Whether any filter selects `event`. An empty list selects nothing: an endpoint that wants
/// every event stores [`EventFilter::all`], so "no filters" can never mean "everything" by accident.
pub fn any_matches(filters: &[EventFilter], event: &EventType) -> bool {
    filters.iter().any(|f| f.matches(event))
}

fn check_shape(s: &str) -> Result<(), FilterError> {
    if s.is_empty() {
        return Err(FilterError::Empty);
    }
    if s.len() > MAX_LEN {
        return Err(FilterError::TooLong);
    }
    if s.split('.').count() > MAX_SEGMENTS {
        return Err(FilterError::TooManySegments);
    }
    Ok(())
}

fn check_segment(segment: &str, n: usize) -> Result<(), FilterError> {
    if segment.is_empty() {
        return Err(FilterError::EmptySegment(n));
    }
    if segment.contains('*') {
        return Err(FilterError::MisplacedWildcard);
    }
    let valid = segment
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(FilterError::InvalidSegment(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ev(s: &str) -> EventType {
        EventType::parse(s).unwrap()
    }

    fn f(s: &str) -> EventFilter {
        EventFilter::parse(s).unwrap()
    }

    #[test]
    fn wildcard_semantics() {
        let cases = [
            ("*", "order", true),
            ("*", "order.paid.partial", true),
            ("order.*", "order.created", true),
            ("order.*", "order.paid.partial", true),
            ("order.*", "order", false),
            ("order.*", "orders.created", false),
            ("order.*", "refund.created", false),
            ("order.paid.*", "order.paid.partial", true),
            ("order.paid.*", "order.paid", false),
            ("order.paid", "order.paid", true),
            ("order.paid", "order.paid.partial", false),
            ("order.paid", "order.pai", false),
        ];
        for (filter, event, expected) in cases {
            assert_eq!(
                f(filter).matches(&ev(event)),
                expected,
                "{filter} vs {event}"
            );
        }
    }

    #[test]
    fn validation_errors() {
        let cases = [
            ("", FilterError::Empty),
            ("Order.paid", FilterError::InvalidSegment(1)),
            ("order.paid-late", FilterError::InvalidSegment(2)),
            ("order..paid", FilterError::EmptySegment(2)),
            (".order", FilterError::EmptySegment(1)),
            ("order.", FilterError::EmptySegment(2)),
            ("a.b.c.d.e.f.g.h.i", FilterError::TooManySegments),
            ("*.paid", FilterError::MisplacedWildcard),
            ("order.pa*", FilterError::MisplacedWildcard),
            ("order.**", FilterError::MisplacedWildcard),
        ];
        for (input, err) in cases {
            assert_eq!(EventFilter::parse(input), Err(err), "{input:?}");
        }
        assert_eq!(
            EventFilter::parse(&"a".repeat(101)),
            Err(FilterError::TooLong)
        );
        assert!(EventFilter::parse(&"a".repeat(100)).is_ok());
        assert!(EventFilter::parse("a.b.c.d.e.f.g.*").is_ok());
        assert_eq!(
            EventType::parse("order.*"),
            Err(FilterError::MisplacedWildcard)
        );
        assert_eq!(EventType::parse("*"), Err(FilterError::MisplacedWildcard));
        assert_eq!(
            EventType::parse("order.pagó"),
            Err(FilterError::InvalidSegment(2))
        );
    }

    #[test]
    fn empty_filter_list_selects_nothing() {
        assert!(!any_matches(&[], &ev("order.paid")));
        assert!(any_matches(
            &[f("refund.*"), EventFilter::all()],
            &ev("order.paid")
        ));
        assert!(any_matches(
            &[f("refund.*"), f("order.paid")],
            &ev("order.paid")
        ));
        assert!(!any_matches(
            &[f("refund.*"), f("order.created")],
            &ev("order.paid")
        ));
    }

    fn segment() -> impl Strategy<Value = String> {
        "[a-z0-9_]{1,10}"
    }

    fn event_type() -> impl Strategy<Value = String> {
        prop::collection::vec(segment(), 1..=MAX_SEGMENTS).prop_map(|s| s.join("."))
    }

    proptest! {
        #[test]
        fn valid_event_types_parse_and_round_trip(s in event_type()) {
            let parsed = EventType::parse(&s).unwrap();
            prop_assert_eq!(parsed.as_str(), s.as_str());
            prop_assert_eq!(parsed.to_string().parse::<EventType>().unwrap(), parsed);
        }

        #[test]
        fn parsers_never_panic_and_accept_only_the_grammar(s in "\\PC{0,120}") {
            let grammar = !s.is_empty()
                && s.len() <= MAX_LEN
                && s.split('.').count() <= MAX_SEGMENTS
                && s.split('.').all(|seg| {
                    !seg.is_empty()
                        && seg.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                });
            prop_assert_eq!(EventType::parse(&s).is_ok(), grammar);
            let _ = EventFilter::parse(&s);
        }

        #[test]
        fn an_event_type_is_a_filter_matching_only_itself(a in event_type(), b in event_type()) {
            let filter = EventFilter::parse(&a).unwrap();
            prop_assert!(filter.matches(&ev(&a)));
            prop_assert_eq!(filter.matches(&ev(&b)), a == b);
        }

        #[test]
        fn prefix_wildcard_matches_exactly_the_strict_extensions(
            prefix in prop::collection::vec(segment(), 1..=3),
            event in event_type(),
        ) {
            let prefix = prefix.join(".");
            let filter = f(&format!("{prefix}.*"));
            let expected = event.starts_with(&format!("{prefix}."));
            prop_assert_eq!(filter.matches(&ev(&event)), expected);
            prop_assert!(!filter.matches(&ev(&prefix)));
        }

        #[test]
        fn star_matches_everything(event in event_type()) {
            prop_assert!(EventFilter::all().matches(&ev(&event)));
        }
    }
}
