//! API keys: `mk_live_<key id>_<secret>_<checksum>`.
//!
//! - `mk_live_`: recognisable prefix (secret scanners, log scrubbing).
//! - key id: 16 lowercase base32 characters (80 random bits), public, the DynamoDB lookup key,
//!   so verifying a key is one read.
//! - secret: 32 base62 characters (~190 bits).
//! - checksum: CRC32 of everything before it, 6 base62 characters: a typo or a truncated key
//!   fails before any database read.
//!
//! Only an argon2id hash of the whole key is stored (PHC string). Parameters: m = 19 MiB,
//! t = 2, p = 1 (OWASP's baseline for argon2id): one verification takes ~20–40 ms and 19 MiB
//! on a 128 MB Lambda, and runs on the blocking pool, never on the async thread.
//!
//! Parts: this module is the key's format and its errors; [`hash`] verifies keys (argon2id, the
//! warm cache); [`store`] keeps key records.

pub mod hash;
pub mod store;

pub use hash::{hash, hash_blocking, verify, verify_blocking, verify_dummy, KeyCache};
pub use store::{end, get, item, key_pk, list, put, touch, KeyRecord, KeyStatus};

use crate::db::StorageError;
use crate::error::ApiError;
use rand::Rng;

pub const PREFIX: &str = "mk_live_";
const KEY_ID_LEN: usize = 16;
const SECRET_LEN: usize = 32;
const CHECKSUM_LEN: usize = 6;
const BASE32: &[u8] = b"0123456789abcdefghjkmnpqrstvwxyz";
const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A key in clear text: shown once, never stored, never logged (`Debug` prints `***`).
#[derive(Clone, PartialEq, Eq)]
pub struct PlainKey(String);

impl PlainKey {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PlainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("mk_live_***")
    }
}

/// A well-formed key (checksum verified), not yet authenticated.
#[derive(Debug)]
pub struct ParsedKey {
    pub key_id: String,
    plain: PlainKey,
}

impl ParsedKey {
    pub fn plain(&self) -> &PlainKey {
        &self.plain
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyFormatError {
    #[error("API keys start with mk_live_")]
    Prefix,
    #[error("the API key has the wrong length or characters")]
    Shape,
    #[error("the API key's checksum does not match (typo or truncated key?)")]
    Checksum,
}

fn random_chars(alphabet: &[u8], n: usize) -> String {
    let mut rng = rand::rngs::OsRng;
    (0..n)
        .map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char)
        .collect()
}

fn checksum(body: &str) -> String {
    let mut crc = u64::from(crc32fast::hash(body.as_bytes()));
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(crc % 62) as usize];
        crc /= 62;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A fresh key and its id.
pub fn generate() -> ParsedKey {
    let key_id = random_chars(BASE32, KEY_ID_LEN);
    let body = format!("{PREFIX}{key_id}_{}", random_chars(BASE62, SECRET_LEN));
    let plain = PlainKey(format!("{body}_{}", checksum(&body)));
    ParsedKey { key_id, plain }
}

/// A well-formed key (valid checksum) for an existing id but a random secret: what an attacker
/// who learned a key id could try. Tests use it to show such keys fail like unknown ones; not
/// in production builds (feature `test-support`).
#[cfg(feature = "test-support")]
pub fn forge_for_id(key_id: &str) -> PlainKey {
    let body = format!("{PREFIX}{key_id}_{}", random_chars(BASE62, SECRET_LEN));
    PlainKey(format!("{body}_{}", checksum(&body)))
}

pub fn parse(raw: &str) -> Result<ParsedKey, KeyFormatError> {
    let rest = raw.strip_prefix(PREFIX).ok_or(KeyFormatError::Prefix)?;
    let mut parts = rest.split('_');
    let (Some(key_id), Some(secret), Some(sum), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(KeyFormatError::Shape);
    };
    let ok = key_id.len() == KEY_ID_LEN
        && key_id.bytes().all(|b| BASE32.contains(&b))
        && secret.len() == SECRET_LEN
        && secret.bytes().all(|b| b.is_ascii_alphanumeric())
        && sum.len() == CHECKSUM_LEN
        && sum.bytes().all(|b| b.is_ascii_alphanumeric());
    if !ok {
        return Err(KeyFormatError::Shape);
    }
    let body = &raw[..raw.len() - CHECKSUM_LEN - 1];
    if checksum(body) != sum {
        return Err(KeyFormatError::Checksum);
    }
    Ok(ParsedKey {
        key_id: key_id.to_owned(),
        plain: PlainKey(raw.to_owned()),
    })
}

/// What an API key store answer can be besides the key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// 404 `API key`: no such key in the project.
    #[error("no such API key in the project")]
    NotFound,
    /// Hashing failed (argon2's errors are plain values; their text is all they hold).
    #[error("argon2: {0}")]
    Hash(String),
    /// The blocking hashing task did not finish.
    #[error("the hashing task failed")]
    HashTask(#[source] tokio::task::JoinError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// 404 for a missing key; everything else is ours (an opaque 500 or the storage answer).
impl From<KeyError> for ApiError {
    fn from(err: KeyError) -> Self {
        match err {
            KeyError::NotFound => ApiError::not_found("API key"),
            KeyError::Storage(e) => e.into(),
            e @ (KeyError::Hash(_) | KeyError::HashTask(_)) => ApiError::internal(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ProjectId;

    #[test]
    fn a_missing_key_is_404_and_hashing_failures_are_opaque() {
        let missing = ApiError::from(KeyError::NotFound);
        assert_eq!(
            missing.problem("req"),
            ApiError::not_found("API key").problem("req")
        );
        let hashing = ApiError::from(KeyError::Hash("bad params".into()));
        assert_eq!(hashing.code(), "internal_error");
        assert!(hashing.source_error().is_some());
    }

    #[test]
    fn generated_keys_parse_and_keep_their_id() {
        let key = generate();
        let text = key.plain().expose().to_owned();
        assert!(text.starts_with(PREFIX));
        assert_eq!(
            text.len(),
            PREFIX.len() + KEY_ID_LEN + 1 + SECRET_LEN + 1 + CHECKSUM_LEN
        );
        assert_eq!(parse(&text).unwrap().key_id, key.key_id);
    }

    #[test]
    fn a_typo_fails_the_checksum() {
        let text = generate().plain().expose().to_owned();
        let pos = PREFIX.len() + KEY_ID_LEN + 5;
        let mut bytes = text.into_bytes();
        bytes[pos] = if bytes[pos] == b'a' { b'b' } else { b'a' };
        assert_eq!(
            parse(&String::from_utf8(bytes).unwrap()).unwrap_err(),
            KeyFormatError::Checksum
        );
    }

    #[test]
    fn malformed_keys_are_rejected_by_shape() {
        assert_eq!(parse("sk_live_x").unwrap_err(), KeyFormatError::Prefix);
        for bad in [
            "mk_live_",
            "mk_live_abc_def_ghi",
            "mk_live_a_b",
            "mk_live_0123456789abcdef_x_y_z",
        ] {
            assert_eq!(parse(bad).unwrap_err(), KeyFormatError::Shape, "{bad}");
        }
    }

    #[test]
    fn debug_never_shows_the_key() {
        let key = generate();
        assert_eq!(format!("{:?}", key.plain()), "mk_live_***");
        assert!(!format!("{key:?}").contains(&key.plain().expose()[20..]));
    }

    #[test]
    fn hash_verifies_only_the_same_key() {
        let key = generate();
        let phc = hash_blocking(key.plain()).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_blocking(key.plain().expose(), &phc));
        assert!(!verify_blocking(generate().plain().expose(), &phc));
    }

    #[test]
    fn cache_trusts_an_entry_only_for_the_same_stored_hash() {
        let cache = KeyCache::default();
        let key = generate();
        let project = ProjectId::new();
        cache.remember(key.plain(), "hash-1", project);
        assert_eq!(cache.verified(key.plain(), Some("hash-1")), Some(project));
        assert_eq!(cache.verified(key.plain(), Some("hash-2")), None);
        assert_eq!(cache.verified(generate().plain(), Some("hash-1")), None);
    }
}
