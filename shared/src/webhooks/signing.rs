//! Standard Webhooks 1.0 signatures (symmetric `v1`, HMAC-SHA256).
//!
//! The signed content is `<webhook-id>.<webhook-timestamp>.<exact body bytes>`. During a key
//! rotation an endpoint has several active secrets and every attempt is signed with all of them,
//! so receivers still holding the old secret keep verifying until they switch.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

type HmacSha256 = Hmac<Sha256>;

/// Header carrying the message id, stable across retries (the receiver's idempotency key).
pub const HEADER_ID: &str = "webhook-id";
/// Header carrying the Unix seconds of this attempt (fresh on every retry).
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
/// Header carrying the space-separated `v1,<base64>` signatures.
pub const HEADER_SIGNATURE: &str = "webhook-signature";

/// Prefix of every secret's display form.
pub const SECRET_PREFIX: &str = "whsec_";
/// Fewest key bytes the spec allows.
pub const SECRET_MIN_BYTES: usize = 24;
/// Most key bytes the spec allows.
pub const SECRET_MAX_BYTES: usize = 64;
/// Key bytes of a freshly generated secret (256 bits, the HMAC-SHA256 block-friendly size).
pub const SECRET_GENERATED_BYTES: usize = 32;
/// How far a timestamp may lie in the past or future, as the reference verifiers do.
pub const TOLERANCE: time::Duration = time::Duration::minutes(5);

/// Why a string is not a webhook secret. Messages never include the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The string does not start with `whsec_`.
    #[error("webhook secret must start with `whsec_`")]
    MissingPrefix,
    /// The part after the prefix is not standard base64.
    #[error("webhook secret is not valid base64 after `whsec_`")]
    InvalidBase64,
    /// The decoded key is shorter than 24 or longer than 64 bytes.
    #[error("webhook secret must decode to 24..=64 bytes, got {0}")]
    InvalidLength(usize),
}

/// One endpoint signing secret: `whsec_` + base64 of 24–64 random bytes.
///
/// There is deliberately no `Display`; `Debug` prints `whsec_***`. The only way to the text is
/// [`WebhookSecret::expose`], for storage and the single API response that hands it out.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret {
    key: Vec<u8>,
}

impl WebhookSecret {
    /// A new secret of [`SECRET_GENERATED_BYTES`] from the OS-seeded CSPRNG.
    pub fn generate() -> Self {
        let mut key = vec![0u8; SECRET_GENERATED_BYTES];
        rand::thread_rng().fill_bytes(&mut key);
        Self { key }
    }

    /// Parses the display form (`whsec_<base64>`).
    pub fn parse(s: &str) -> Result<Self, SecretError> {
        let encoded = s
            .trim()
            .strip_prefix(SECRET_PREFIX)
            .ok_or(SecretError::MissingPrefix)?;
        let key = STANDARD
            .decode(encoded)
            .map_err(|_| SecretError::InvalidBase64)?;
        if !(SECRET_MIN_BYTES..=SECRET_MAX_BYTES).contains(&key.len()) {
            return Err(SecretError::InvalidLength(key.len()));
        }
        Ok(Self { key })
    }

    /// The display form `whsec_<base64>`: store it, or return it once to the shop. Never log it.
    pub fn expose(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.key))
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC zero-pads keys shorter than the 64-byte SHA-256 block, so padding here is the same
        // key; it avoids `new_from_slice`'s `Result`, whose error arm cannot happen for HMAC.
        // `parse` and `generate` keep keys within 64 bytes, so nothing is truncated.
        let mut block = [0u8; 64];
        for (dst, src) in block.iter_mut().zip(&self.key) {
            *dst = *src;
        }
        <HmacSha256 as hmac::digest::KeyInit>::new(&block.into())
    }

    fn signature(&self, msg_id: &str, timestamp_secs: i64, body: &[u8]) -> [u8; 32] {
        let mut mac = self.mac();
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp_secs.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().into()
    }
}

impl WebhookSecret {
    /// A short, public name for the secret: the first 8 hex digits of SHA-256(`whsec_…`).
    pub fn key_id(&self) -> String {
        use sha2::Digest as _;
        let digest = Sha256::digest(self.expose().as_bytes());
        hex::encode(&digest[..4])
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("whsec_***")
    }
}

impl std::str::FromStr for WebhookSecret {
    type Err = SecretError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// The `webhook-signature` header as the attempt log shows it: per secret `v1,` and the
/// secret's key id (first 8 hex digits of the SHA-256 of its display form) instead of the
/// signature, so a shop can tell which secrets signed without either being revealed.
pub fn redacted_signature(secrets: &[&WebhookSecret]) -> String {
    secrets
        .iter()
        .map(|secret| format!("v1,key:{}…", secret.key_id()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `webhook-signature` header value: one `v1,<base64>` entry per secret, space-separated,
/// in the order given (an empty string if `secrets` is empty).
pub fn sign(msg_id: &str, timestamp_secs: i64, body: &[u8], secrets: &[&WebhookSecret]) -> String {
    secrets
        .iter()
        .map(|secret| {
            let sig = secret.signature(msg_id, timestamp_secs, body);
            format!("v1,{}", STANDARD.encode(sig))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The three headers of one attempt as (name, value) pairs: `msg_id` stays the same across
/// retries, `timestamp_secs` must be the time of *this* attempt (receivers refuse stale ones).
pub fn headers(
    msg_id: &str,
    timestamp_secs: i64,
    body: &[u8],
    secrets: &[&WebhookSecret],
) -> [(&'static str, String); 3] {
    [
        (HEADER_ID, msg_id.to_owned()),
        (HEADER_TIMESTAMP, timestamp_secs.to_string()),
        (
            HEADER_SIGNATURE,
            sign(msg_id, timestamp_secs, body, secrets),
        ),
    ]
}

/// The three Standard Webhooks header values a receiver needs to verify one delivery.
#[derive(Debug, Clone, Copy)]
pub struct SignedHeaders<'a> {
    /// `webhook-id`.
    pub id: &'a str,
    /// `webhook-timestamp` (Unix seconds, as text).
    pub timestamp: &'a str,
    /// `webhook-signature` (space-separated `v1,<base64>` list).
    pub signature: &'a str,
}

/// Why a delivery did not verify. Stable: tests and the receiver docs match on these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// `webhook-timestamp` is not an integer number of seconds.
    #[error("webhook-timestamp is not a Unix timestamp")]
    InvalidTimestamp,
    /// The timestamp is more than [`TOLERANCE`] before now (replay or a very late delivery).
    #[error("webhook-timestamp is too old")]
    TimestampTooOld,
    /// The timestamp is more than [`TOLERANCE`] after now.
    #[error("webhook-timestamp is in the future")]
    TimestampTooNew,
    /// No `v1,` entry matched (including headers with no `v1` entry at all).
    #[error("no matching webhook signature")]
    NoMatchingSignature,
}

/// Verifies a delivery as a Standard Webhooks receiver would: timestamp within [`TOLERANCE`] of
/// `now`, then any `v1` entry equal (constant time) to the expected signature. Unknown versions
/// and undecodable entries are skipped, not errors, so future schemes do not break receivers.
pub fn verify(
    secret: &WebhookSecret,
    headers: &SignedHeaders<'_>,
    body: &[u8],
    now: OffsetDateTime,
) -> Result<(), VerifyError> {
    let ts: i64 = headers
        .timestamp
        .trim()
        .parse()
        .map_err(|_| VerifyError::InvalidTimestamp)?;
    let now_secs = now.unix_timestamp();
    let tolerance = TOLERANCE.whole_seconds();
    if ts < now_secs.saturating_sub(tolerance) {
        return Err(VerifyError::TimestampTooOld);
    }
    if ts > now_secs.saturating_add(tolerance) {
        return Err(VerifyError::TimestampTooNew);
    }
    let expected = secret.signature(headers.id, ts, body);
    let mut matched = subtle::Choice::from(0u8);
    for entry in headers.signature.split_whitespace() {
        let Some(("v1", encoded)) = entry.split_once(',') else {
            continue;
        };
        let Ok(candidate) = STANDARD.decode(encoded) else {
            continue;
        };
        // Every candidate is compared (no early exit) so timing does not reveal which matched.
        matched |= candidate.as_slice().ct_eq(&expected);
    }
    if bool::from(matched) {
        Ok(())
    } else {
        Err(VerifyError::NoMatchingSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TS: i64 = 1_614_265_330;

    #[test]
    fn the_redacted_signature_names_each_key_and_reveals_neither_signature_nor_secret() {
        let a = WebhookSecret::parse(SPEC_SECRET).unwrap();
        let b = WebhookSecret::generate();
        let shown = redacted_signature(&[&a, &b]);
        let real = sign(SPEC_ID, SPEC_TS, b"{}", &[&a, &b]);
        assert_eq!(
            shown,
            format!("v1,key:{}… v1,key:{}…", a.key_id(), b.key_id())
        );
        assert_eq!(a.key_id().len(), 8);
        assert_ne!(a.key_id(), b.key_id());
        for part in real.split(' ') {
            assert!(!shown.contains(&part[3..]));
        }
        assert!(!shown.contains(&SPEC_SECRET["whsec_".len()..]));
    }
    const SPEC_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SPEC_SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(secs).unwrap()
    }

    #[test]
    fn spec_test_vector_signs_exactly() {
        let secret = WebhookSecret::parse(SPEC_SECRET).unwrap();
        assert_eq!(sign(SPEC_ID, SPEC_TS, SPEC_BODY, &[&secret]), SPEC_SIG);
    }

    #[test]
    fn spec_test_vector_verifies() {
        let secret = WebhookSecret::parse(SPEC_SECRET).unwrap();
        let ts = SPEC_TS.to_string();
        let headers = SignedHeaders {
            id: SPEC_ID,
            timestamp: &ts,
            signature: SPEC_SIG,
        };
        assert_eq!(verify(&secret, &headers, SPEC_BODY, at(SPEC_TS)), Ok(()));
    }

    #[test]
    fn rotation_signs_with_every_secret_and_either_verifies() {
        let old = WebhookSecret::parse(SPEC_SECRET).unwrap();
        let new = WebhookSecret::generate();
        let header = sign(SPEC_ID, SPEC_TS, SPEC_BODY, &[&new, &old]);
        let entries: Vec<_> = header.split(' ').collect();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1], SPEC_SIG);
        let ts = SPEC_TS.to_string();
        let headers = SignedHeaders {
            id: SPEC_ID,
            timestamp: &ts,
            signature: &header,
        };
        for secret in [&old, &new] {
            assert_eq!(verify(secret, &headers, SPEC_BODY, at(SPEC_TS)), Ok(()));
        }
        let stranger = WebhookSecret::generate();
        assert_eq!(
            verify(&stranger, &headers, SPEC_BODY, at(SPEC_TS)),
            Err(VerifyError::NoMatchingSignature)
        );
    }

    #[test]
    fn verify_rejects_tampering_and_stale_timestamps() {
        let secret = WebhookSecret::parse(SPEC_SECRET).unwrap();
        let ts = SPEC_TS.to_string();
        let ok = SignedHeaders {
            id: SPEC_ID,
            timestamp: &ts,
            signature: SPEC_SIG,
        };
        let now = at(SPEC_TS);
        assert_eq!(
            verify(&secret, &ok, br#"{"test": 2432232315}"#, now),
            Err(VerifyError::NoMatchingSignature)
        );
        let other_id = SignedHeaders {
            id: "msg_other",
            ..ok
        };
        assert_eq!(
            verify(&secret, &other_id, SPEC_BODY, now),
            Err(VerifyError::NoMatchingSignature)
        );
        let garbage = SignedHeaders {
            signature: "v2,abc v1,!!! v1",
            ..ok
        };
        assert_eq!(
            verify(&secret, &garbage, SPEC_BODY, now),
            Err(VerifyError::NoMatchingSignature)
        );
        let mixed = format!("v1a,xyz v1,AAAA {SPEC_SIG}");
        let mixed = SignedHeaders {
            signature: &mixed,
            ..ok
        };
        assert_eq!(verify(&secret, &mixed, SPEC_BODY, now), Ok(()));
        assert_eq!(verify(&secret, &ok, SPEC_BODY, at(SPEC_TS + 300)), Ok(()));
        assert_eq!(
            verify(&secret, &ok, SPEC_BODY, at(SPEC_TS + 301)),
            Err(VerifyError::TimestampTooOld)
        );
        assert_eq!(
            verify(&secret, &ok, SPEC_BODY, at(SPEC_TS - 301)),
            Err(VerifyError::TimestampTooNew)
        );
        let bad_ts = SignedHeaders {
            timestamp: "soon",
            ..ok
        };
        assert_eq!(
            verify(&secret, &bad_ts, SPEC_BODY, now),
            Err(VerifyError::InvalidTimestamp)
        );
    }

    #[test]
    fn parse_errors_are_specific() {
        assert_eq!(
            WebhookSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            Err(SecretError::MissingPrefix)
        );
        assert_eq!(
            WebhookSecret::parse("whsec_not base64!"),
            Err(SecretError::InvalidBase64)
        );
        let short = format!("whsec_{}", STANDARD.encode([7u8; 23]));
        assert_eq!(
            WebhookSecret::parse(&short),
            Err(SecretError::InvalidLength(23))
        );
        let long = format!("whsec_{}", STANDARD.encode([7u8; 65]));
        assert_eq!(
            WebhookSecret::parse(&long),
            Err(SecretError::InvalidLength(65))
        );
        for n in [24, 64] {
            let ok = format!("whsec_{}", STANDARD.encode(vec![7u8; n]));
            assert_eq!(WebhookSecret::parse(&ok).unwrap().expose(), ok);
        }
    }

    #[test]
    fn generated_secrets_round_trip_differ_and_never_print() {
        let a = WebhookSecret::generate();
        let b = WebhookSecret::generate();
        assert_ne!(a, b);
        let shown = a.expose();
        assert!(shown.starts_with("whsec_"));
        assert_eq!(WebhookSecret::parse(&shown).unwrap(), a);
        assert_eq!(format!("{a:?}"), "whsec_***");
        assert_eq!(format!("{:?}", Some(&a)), "Some(whsec_***)");
    }

    #[test]
    fn headers_carry_id_timestamp_and_signature() {
        let secret = WebhookSecret::parse(SPEC_SECRET).unwrap();
        let [id, ts, sig] = headers(SPEC_ID, SPEC_TS, SPEC_BODY, &[&secret]);
        assert_eq!(id, (HEADER_ID, SPEC_ID.to_owned()));
        assert_eq!(ts, (HEADER_TIMESTAMP, SPEC_TS.to_string()));
        assert_eq!(sig, (HEADER_SIGNATURE, SPEC_SIG.to_owned()));
    }

    #[test]
    fn no_secrets_means_empty_header() {
        assert_eq!(sign(SPEC_ID, SPEC_TS, SPEC_BODY, &[]), "");
    }
}
