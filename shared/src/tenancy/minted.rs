//! Ids of what an idempotent request creates, stable across re-runs of that request.
//!
//! A POST with `Idempotency-Key` may run twice: if its function dies after creating something but
//! before storing the answer, a retry after the 60 s lease runs it again. So the ids it mints are
//! not drawn at random per run: the first claim of the key draws a seed (a ULID: the claim time
//! and 80 random bits) and stores it in the idempotency record; every run of that claim derives
//! the same ids from it. A creation is conditional (`attribute_not_exists`), and a re-run looks the
//! id up first and answers with what the first run created instead of creating a second one.
//!
//! Derived ids keep the prefixed sortable ULID shape: the time part is the first claim's time, the
//! random part 80 bits of SHA-256(seed, kind, salt), so they are as unguessable as drawn ones.

use super::Caller;
use crate::ids::{Id, IdKind};
use sha2::{Digest, Sha256};

/// The seed a held Idempotency-Key gives its runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Minted {
    seed: ulid::Ulid,
    rerun: bool,
}

impl Minted {
    pub(crate) fn new(seed: ulid::Ulid, rerun: bool) -> Self {
        Self { seed, rerun }
    }

    /// A fresh seed at `at_ms` (a first claim).
    pub(crate) fn draw(at_ms: u64) -> ulid::Ulid {
        ulid::Ulid::from_parts(at_ms, ulid::Ulid::new().random())
    }

    /// Whether an earlier run of this request may have created something already (the key was
    /// re-claimed after its lease expired).
    pub fn rerun(&self) -> bool {
        self.rerun
    }

    /// The id of kind `K` this request creates; `salt` tells apart several of one kind (e.g. a
    /// delivery per endpoint), "" for the one.
    pub fn id<K: IdKind>(&self, salt: &str) -> Id<K> {
        let mut h = Sha256::new();
        h.update(self.seed.to_string().as_bytes());
        h.update(b"\n");
        h.update(K::PREFIX.as_bytes());
        h.update(b"\n");
        h.update(salt.as_bytes());
        let digest = h.finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Id::from_parts(self.seed.timestamp_ms(), u128::from_be_bytes(bytes))
    }
}

impl Caller {
    /// The seed of the Idempotency-Key this request holds (none without a key).
    pub fn minted(&self) -> Option<Minted> {
        self.idempotency.minted()
    }

    /// The id of the one `K` this request creates: derived from its Idempotency-Key if it has
    /// one, else a fresh id at `now`.
    pub fn new_id<K: IdKind>(&self, now: time::OffsetDateTime) -> Id<K> {
        match self.minted() {
            Some(m) => m.id(""),
            None => Id::at(now),
        }
    }

    /// On a re-run only, the id the first run may have created (to look up before creating).
    pub fn rerun_id<K: IdKind>(&self) -> Option<Id<K>> {
        self.minted().filter(Minted::rerun).map(|m| m.id(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{DeliveryId, NotificationId};

    #[test]
    fn ids_are_stable_per_seed_kind_and_salt_and_keep_their_shape() {
        let seed = Minted::draw(1_795_320_000_000);
        let a = Minted::new(seed, false);
        let b = Minted::new(seed, true);
        let n: NotificationId = a.id("");
        assert_eq!(n, b.id(""));
        assert_eq!(n.timestamp_ms(), 1_795_320_000_000);
        assert!(n.to_string().starts_with("ntf_"));
        assert_eq!(n.to_string().parse::<NotificationId>(), Ok(n));
        let d1: DeliveryId = a.id("whe_1");
        let d2: DeliveryId = a.id("whe_2");
        assert_ne!(d1, d2);
        let other = Minted::new(Minted::draw(1_795_320_000_000), false);
        assert_ne!(other.id::<crate::ids::Notification>(""), n);
    }
}
