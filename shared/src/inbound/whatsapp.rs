//! WhatsApp Cloud API (Meta) webhooks: the `X-Hub-Signature-256` check on every POST and the
//! GET subscription handshake.
//!
//! The signature is `sha256=<hex HMAC-SHA256 of the raw body>` keyed with the app secret. It
//! must be computed over the bytes as received: re-serialised JSON does not verify.

use hmac::Mac;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::InboundSecret;

/// Name of the signature header.
pub const HEADER_SIGNATURE: &str = "x-hub-signature-256";
/// Longest challenge echoed back. Meta sends a short number; anything else is refused rather
/// than reflected.
pub const MAX_CHALLENGE_LEN: usize = 256;

/// Why a POST did not verify. Stable: intake logs and metrics key on these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `X-Hub-Signature-256` header.
    #[error("X-Hub-Signature-256 header is missing")]
    MissingHeader,
    /// The header is not `sha256=<hex>`.
    #[error("X-Hub-Signature-256 header is malformed")]
    MalformedHeader,
    /// The HMAC does not match.
    #[error("X-Hub-Signature-256 does not match")]
    Mismatch,
}

/// Why a subscription handshake was refused (answer 403). Stable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// `hub.mode` is missing or not `subscribe`.
    #[error("hub.mode is not subscribe")]
    NotSubscribe,
    /// `hub.verify_token` is missing or not ours.
    #[error("hub.verify_token does not match")]
    TokenMismatch,
    /// `hub.challenge` is missing, empty, too long, or not plain ASCII alphanumerics/`-`/`_`.
    #[error("hub.challenge is missing or invalid")]
    InvalidChallenge,
}

/// The `X-Hub-Signature-256` value Meta would send for `body` (for the local sandbox and tests).
pub fn signature_header(app_secret: &InboundSecret, body: &[u8]) -> String {
    let mut mac = app_secret.hmac();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks `X-Hub-Signature-256` against the raw `body`, in constant time.
pub fn verify_signature(
    app_secret: &InboundSecret,
    header: Option<&str>,
    body: &[u8],
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::MissingHeader)?.trim();
    let (algorithm, hex_sig) = header
        .split_once('=')
        .ok_or(SignatureError::MalformedHeader)?;
    if !algorithm.eq_ignore_ascii_case("sha256") {
        return Err(SignatureError::MalformedHeader);
    }
    let given = hex::decode(hex_sig).map_err(|_| SignatureError::MalformedHeader)?;
    let mut mac = app_secret.hmac();
    mac.update(body);
    let expected = mac.finalize().into_bytes();
    if bool::from(given.as_slice().ct_eq(expected.as_slice())) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The query parameters of the GET handshake, already URL-decoded.
#[derive(Debug, Clone, Copy, Default)]
pub struct SubscriptionQuery<'a> {
    /// `hub.mode`.
    pub mode: Option<&'a str>,
    /// `hub.verify_token`.
    pub verify_token: Option<&'a str>,
    /// `hub.challenge`.
    pub challenge: Option<&'a str>,
}

/// Checks a subscription handshake and returns the challenge to answer with (200, text/plain).
/// The token is compared through SHA-256 digests so neither its content nor its length leaks
/// through timing.
pub fn verify_subscription<'a>(
    query: &SubscriptionQuery<'a>,
    verify_token: &InboundSecret,
) -> Result<&'a str, HandshakeError> {
    if query.mode != Some("subscribe") {
        return Err(HandshakeError::NotSubscribe);
    }
    let given = query.verify_token.ok_or(HandshakeError::TokenMismatch)?;
    let given = Sha256::digest(given.as_bytes());
    let ours = Sha256::digest(verify_token.expose().as_bytes());
    if !bool::from(given.ct_eq(&ours)) {
        return Err(HandshakeError::TokenMismatch);
    }
    let challenge = query.challenge.ok_or(HandshakeError::InvalidChallenge)?;
    let plain = challenge
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if challenge.is_empty() || challenge.len() > MAX_CHALLENGE_LEN || !plain {
        return Err(HandshakeError::InvalidChallenge);
    }
    Ok(challenge)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BODY: &[u8] = br#"{"object":"whatsapp_business_account","entry":[]}"#;

    fn secret() -> InboundSecret {
        InboundSecret::new("app-secret").unwrap()
    }

    #[test]
    fn known_vector() {
        // Computed independently: Python `hmac.new(b"app-secret", BODY, hashlib.sha256)`.
        let expected = "sha256=d3e4f9da0ce6c71ab3dba55929b8eeeee2455349e534924ead19f98d143e904f";
        assert_eq!(signature_header(&secret(), BODY), expected);
        assert_eq!(verify_signature(&secret(), Some(expected), BODY), Ok(()));
    }

    #[test]
    fn signature_failures() {
        let header = signature_header(&secret(), BODY);
        assert_eq!(
            verify_signature(&secret(), None, BODY),
            Err(SignatureError::MissingHeader)
        );
        assert_eq!(
            verify_signature(&secret(), Some(&header), b"{}"),
            Err(SignatureError::Mismatch)
        );
        let other = InboundSecret::new("other").unwrap();
        assert_eq!(
            verify_signature(&other, Some(&header), BODY),
            Err(SignatureError::Mismatch)
        );
        let hex = header.trim_start_matches("sha256=");
        for bad in [
            hex.to_owned(),
            format!("sha1={hex}"),
            "sha256=zz".to_owned(),
        ] {
            assert_eq!(
                verify_signature(&secret(), Some(&bad), BODY),
                Err(SignatureError::MalformedHeader),
                "{bad}"
            );
        }
        let truncated = &header[..header.len() - 2];
        assert_eq!(
            verify_signature(&secret(), Some(truncated), BODY),
            Err(SignatureError::Mismatch)
        );
        let upper = format!("sha256={}", hex.to_uppercase());
        assert_eq!(verify_signature(&secret(), Some(&upper), BODY), Ok(()));
    }

    #[test]
    fn handshake() {
        let token = InboundSecret::new("tok-123").unwrap();
        let ok = SubscriptionQuery {
            mode: Some("subscribe"),
            verify_token: Some("tok-123"),
            challenge: Some("1158201444"),
        };
        assert_eq!(verify_subscription(&ok, &token), Ok("1158201444"));
        let cases = [
            (
                SubscriptionQuery { mode: None, ..ok },
                HandshakeError::NotSubscribe,
            ),
            (
                SubscriptionQuery {
                    mode: Some("unsubscribe"),
                    ..ok
                },
                HandshakeError::NotSubscribe,
            ),
            (
                SubscriptionQuery {
                    verify_token: None,
                    ..ok
                },
                HandshakeError::TokenMismatch,
            ),
            (
                SubscriptionQuery {
                    verify_token: Some("tok-12"),
                    ..ok
                },
                HandshakeError::TokenMismatch,
            ),
            (
                SubscriptionQuery {
                    verify_token: Some(""),
                    ..ok
                },
                HandshakeError::TokenMismatch,
            ),
            (
                SubscriptionQuery {
                    challenge: None,
                    ..ok
                },
                HandshakeError::InvalidChallenge,
            ),
            (
                SubscriptionQuery {
                    challenge: Some(""),
                    ..ok
                },
                HandshakeError::InvalidChallenge,
            ),
            (
                SubscriptionQuery {
                    challenge: Some("<script>"),
                    ..ok
                },
                HandshakeError::InvalidChallenge,
            ),
        ];
        for (query, err) in cases {
            assert_eq!(verify_subscription(&query, &token), Err(err), "{query:?}");
        }
        let long = "9".repeat(MAX_CHALLENGE_LEN + 1);
        let query = SubscriptionQuery {
            challenge: Some(&long),
            ..ok
        };
        assert_eq!(
            verify_subscription(&query, &token),
            Err(HandshakeError::InvalidChallenge)
        );
    }

    proptest! {
        #[test]
        fn any_body_round_trips_and_any_flip_fails(body in prop::collection::vec(any::<u8>(), 0..512), flip in any::<usize>()) {
            let header = signature_header(&secret(), &body);
            prop_assert_eq!(verify_signature(&secret(), Some(&header), &body), Ok(()));
            if !body.is_empty() {
                let mut tampered = body.clone();
                let i = flip % tampered.len();
                tampered[i] ^= 0x01;
                prop_assert_eq!(
                    verify_signature(&secret(), Some(&header), &tampered),
                    Err(SignatureError::Mismatch)
                );
            }
        }

        #[test]
        fn header_parser_never_panics(s in "\\PC{0,200}") {
            let _ = verify_signature(&secret(), Some(&s), BODY);
        }
    }
}
