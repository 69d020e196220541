//! Hashing and verifying keys (argon2id on the blocking pool) and the warm-container cache of
//! keys already verified.

use super::{generate, KeyError, PlainKey};
use crate::ids::ProjectId;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

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
