//! Prefixed, sortable public ids (`prj_01J…`, `ntf_01J…`).
//!
//! The body is a ULID: 48 bits of millisecond time then 80 random bits, Crockford base32, so
//! ids sort by creation time (list queries use them as sort keys) and cannot be guessed.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

/// A kind of id: its prefix ties an id to one resource type.
pub trait IdKind {
    const PREFIX: &'static str;
    /// Human name used in "not found" messages.
    const NAME: &'static str;
}

macro_rules! id_kinds {
    ($($kind:ident => $prefix:literal, $name:literal;)*) => {
        $(
            #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
            pub struct $kind;
            impl IdKind for $kind {
                const PREFIX: &'static str = $prefix;
                const NAME: &'static str = $name;
            }
        )*
    };
}

id_kinds! {
    Project => "prj", "project";
    Notification => "ntf", "notification";
    Event => "evt", "event";
    Endpoint => "whe", "webhook endpoint";
    Delivery => "dlv", "webhook delivery";
    Payment => "pay", "payment";
    Refund => "ref", "refund";
    Template => "tpl", "template";
    KeyId => "key", "API key";
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id<K> {
    ulid: ulid::Ulid,
    kind: PhantomData<K>,
}

impl<K: IdKind> Id<K> {
    pub fn new() -> Self {
        Self::from_ulid(ulid::Ulid::new())
    }

    /// An id whose time component is `at` (the random part stays random).
    pub fn at(at: time::OffsetDateTime) -> Self {
        let ms = u64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
        Self::from_ulid(ulid::Ulid::from_parts(ms, rand_u128()))
    }

    /// An id from its parts (`random` keeps its low 80 bits): ids derived, not drawn.
    pub fn from_parts(ms: u64, random: u128) -> Self {
        Self::from_ulid(ulid::Ulid::from_parts(ms, random))
    }

    fn from_ulid(ulid: ulid::Ulid) -> Self {
        Self {
            ulid,
            kind: PhantomData,
        }
    }

    /// Milliseconds since the Unix epoch at which the id was minted.
    pub fn timestamp_ms(&self) -> u64 {
        self.ulid.timestamp_ms()
    }
}

fn rand_u128() -> u128 {
    // `Ulid::new()` draws from a CSPRNG; reuse its random bits rather than a second source.
    ulid::Ulid::new().random()
}

impl<K: IdKind> Default for Id<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: IdKind> fmt::Display for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", K::PREFIX, self.ulid)
    }
}

impl<K: IdKind> fmt::Debug for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a valid {name} id (expected {prefix}_ followed by 26 base32 characters)")]
pub struct InvalidId {
    pub name: &'static str,
    pub prefix: &'static str,
}

impl<K: IdKind> FromStr for Id<K> {
    type Err = InvalidId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidId {
            name: K::NAME,
            prefix: K::PREFIX,
        };
        let body = s
            .strip_prefix(K::PREFIX)
            .and_then(|rest| rest.strip_prefix('_'))
            .ok_or_else(invalid)?;
        // Only canonical upper-case Crockford base32: one id, one spelling, one key.
        if body.len() != 26
            || !body
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        {
            return Err(invalid());
        }
        let ulid = ulid::Ulid::from_string(body).map_err(|_| invalid())?;
        if ulid.to_string() != body {
            return Err(invalid());
        }
        Ok(Self::from_ulid(ulid))
    }
}

impl<K: IdKind> serde::Serialize for Id<K> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de, K: IdKind> serde::Deserialize<'de> for Id<K> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

/// In the API contract an id is a string with its prefix; inline, not a component of its own.
impl<K: IdKind> utoipa::PartialSchema for Id<K> {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(format!("^{}_[0-9A-HJKMNP-TV-Z]{{26}}$", K::PREFIX)))
            .examples([format!("{}_01JD4S2V3N8Q9K1M2X7YB5ZC6T", K::PREFIX)])
            .into()
    }
}

impl<K: IdKind> utoipa::ToSchema for Id<K> {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Owned(format!("Id_{}", K::PREFIX))
    }
}

pub type ProjectId = Id<Project>;
pub type NotificationId = Id<Notification>;
pub type EventId = Id<Event>;
pub type EndpointId = Id<Endpoint>;
pub type DeliveryId = Id<Delivery>;
pub type PaymentId = Id<Payment>;
pub type RefundId = Id<Refund>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_keeps_its_prefix() {
        let id = ProjectId::new();
        let text = id.to_string();
        assert!(text.starts_with("prj_"));
        assert_eq!(text.len(), 4 + 26);
        assert_eq!(text.parse::<ProjectId>().unwrap(), id);
    }

    #[test]
    fn rejects_other_kinds_and_garbage() {
        let ntf = NotificationId::new().to_string();
        assert!(ntf.parse::<ProjectId>().is_err());
        for bad in [
            "",
            "prj_",
            "prj_../../etc/passwd",
            "prj_01j0000000000000000000000a",
            "PRJ_01J0000000000000000000000A",
        ] {
            assert!(bad.parse::<ProjectId>().is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn ids_sort_by_creation_time() {
        let early = EventId::at(time::macros::datetime!(2026-01-01 0:00 UTC));
        let late = EventId::at(time::macros::datetime!(2026-01-01 0:00:01 UTC));
        assert!(early.to_string() < late.to_string());
        assert_eq!(late.timestamp_ms() - early.timestamp_ms(), 1000);
    }
}
