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

use crate::db::{self, storage_error, Item, StorageError};
use crate::error::ApiError;
use crate::ids::ProjectId;
use crate::paging::{self, Query};
use crate::AppState;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

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

fn argon2() -> Result<Argon2<'static>, KeyError> {
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|e| KeyError::Hash(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// The argon2id PHC string of `key` (blocking: call from `spawn_blocking`).
pub fn hash_blocking(key: &PlainKey) -> Result<String, KeyError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2()?
        .hash_password(key.0.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| KeyError::Hash(e.to_string()))
}

/// Whether `key` matches `phc` (blocking).
pub fn verify_blocking(key: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    argon2()
        .map(|a| a.verify_password(key.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

pub async fn hash(key: &PlainKey) -> Result<String, KeyError> {
    let key = key.clone();
    tokio::task::spawn_blocking(move || hash_blocking(&key))
        .await
        .map_err(KeyError::HashTask)?
}

pub async fn verify(key: &PlainKey, phc: &str) -> bool {
    let (key, phc) = (key.0.clone(), phc.to_owned());
    tokio::task::spawn_blocking(move || verify_blocking(&key, &phc))
        .await
        .unwrap_or(false)
}

/// A hash of a random key computed once per container: unknown key ids are verified against it
/// so they cost the same time as wrong secrets.
pub async fn verify_dummy(key: &PlainKey) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = match DUMMY.get() {
        Some(d) => d.clone(),
        None => {
            let fresh = hash(generate().plain()).await.unwrap_or_default();
            DUMMY.get_or_init(|| fresh).clone()
        }
    };
    let _ = verify(key, &dummy).await;
}

/// Warm-container cache of "this exact key verified against this exact stored hash".
/// Entries are only trusted while the freshly read key record still carries the same hash, so
/// rotation, revocation and deactivation are seen on the very next request.
#[derive(Default)]
pub struct KeyCache {
    entries: Mutex<HashMap<[u8; 32], (String, ProjectId)>>,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyCache")
    }
}

const CACHE_CAPACITY: usize = 1024;

impl KeyCache {
    fn fingerprint(key: &PlainKey) -> [u8; 32] {
        Sha256::digest(key.0.as_bytes()).into()
    }

    /// The project a key verified for before, if it did against `phc`.
    pub fn verified(&self, key: &PlainKey, phc: Option<&str>) -> Option<ProjectId> {
        let entries = self.entries.lock().ok()?;
        let (hash, project) = entries.get(&Self::fingerprint(key))?;
        match phc {
            Some(phc) if phc != hash => None,
            _ => Some(*project),
        }
    }

    pub fn remember(&self, key: &PlainKey, phc: &str, project: ProjectId) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CACHE_CAPACITY {
                entries.clear();
            }
            entries.insert(Self::fingerprint(key), (phc.to_owned(), project));
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    Active,
    Revoked,
}

/// The stored side of a key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeyRecord {
    pub key_id: String,
    pub project_id: ProjectId,
    /// argon2id PHC string.
    pub hash: String,
    pub status: KeyStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub created_at: String,
    /// Epoch seconds after which the key stops working (rotation grace), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// Epoch seconds, refreshed at most hourly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<i64>,
}

pub fn key_pk(key_id: &str) -> String {
    format!("K#{key_id}")
}

pub fn item(record: &KeyRecord) -> Result<Item, StorageError> {
    let mut item = db::to_item(record)?;
    item.insert("pk".into(), db::s(key_pk(&record.key_id)));
    item.insert("sk".into(), db::s("KEY"));
    item.insert(
        "gsi1pk".into(),
        db::s(format!("P#{}#KEYS", record.project_id)),
    );
    item.insert(
        "gsi1sk".into(),
        db::s(format!("{}#{}", record.created_at, record.key_id)),
    );
    Ok(item)
}

pub async fn put(state: &AppState, record: &KeyRecord) -> Result<(), StorageError> {
    state
        .dynamodb
        .put_item()
        .table_name(&state.config.table_name)
        .set_item(Some(item(record)?))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
        .map_err(storage_error)?;
    Ok(())
}

/// Reads a key record by id (strongly consistent: a revocation is seen at once).
pub async fn get(state: &AppState, key_id: &str) -> Result<Option<KeyRecord>, StorageError> {
    let item = db::get_item(state, key_pk(key_id), "KEY").await?;
    item.map(db::from_item).transpose()
}

/// Every key of a project, newest first (its `gsi1` partition, by creation time).
pub async fn list(state: &AppState, project: &ProjectId) -> Result<Vec<KeyRecord>, StorageError> {
    let query = Query {
        backward: true,
        ..Query::partition(Some("gsi1"), format!("P#{project}#KEYS"))
    };
    paging::all(state, &query)
        .await?
        .into_iter()
        .map(db::from_item)
        .collect()
}

/// Sets `valid_until` (grace) or revokes, only for a key of `project`.
pub async fn end(
    state: &AppState,
    project: &ProjectId,
    key_id: &str,
    valid_until: Option<i64>,
    now: &str,
) -> Result<(), KeyError> {
    let mut req = state
        .dynamodb
        .update_item()
        .table_name(&state.config.table_name)
        .key("pk", db::s(key_pk(key_id)))
        .key("sk", db::s("KEY"))
        .condition_expression("project_id = :p")
        .expression_attribute_values(":p", db::s(project.to_string()));
    req = match valid_until {
        Some(at) => req
            .update_expression("SET valid_until = :v")
            .expression_attribute_values(":v", db::n(at)),
        None => req
            .update_expression("SET #s = :revoked, revoked_at = :now")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":revoked", db::s("revoked"))
            .expression_attribute_values(":now", db::s(now)),
    };
    match req.send().await {
        Ok(_) => Ok(()),
        Err(e) if db::is_conditional_failure(&e) => Err(KeyError::NotFound),
        Err(e) => Err(storage_error(e).into()),
    }
}

/// Records use at most once an hour per key: cheap, and good enough to find unused keys.
pub async fn touch(state: &AppState, key_id: &str, now_s: i64) {
    let result = state
        .dynamodb
        .update_item()
        .table_name(&state.config.table_name)
        .key("pk", db::s(key_pk(key_id)))
        .key("sk", db::s("KEY"))
        .update_expression("SET last_used_at = :now")
        .condition_expression("attribute_exists(pk) AND (attribute_not_exists(last_used_at) OR last_used_at < :stale)")
        .expression_attribute_values(":now", db::n(now_s))
        .expression_attribute_values(":stale", db::n(now_s - 3600))
        .send()
        .await;
    if let Err(e) = result {
        if !db::is_conditional_failure(&e) {
            tracing::warn!(error = %crate::telemetry::error_chain(&e), "could not record key use");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
