//! Inbound provider notifications: checking that they really come from the provider.
//!
//! Each provider signs differently ([`mercadopago`], [`whatsapp`]); both key an HMAC-SHA256
//! with a shared secret held in an [`InboundSecret`]. Signatures are compared in constant time.
//! A valid signature proves origin, not truth: intake still re-fetches the resource.

pub mod mercadopago;
pub mod whatsapp;

/// A provider secret (Mercado Pago webhook secret, Meta app secret, WhatsApp verify token).
///
/// `Debug` prints `***` and there is no `Display`, so it cannot reach a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct InboundSecret(String);

/// The secret was empty (after trimming): an empty HMAC key is a public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("secret must not be empty")]
pub struct EmptySecret;

impl InboundSecret {
    /// Wraps a secret. Surrounding whitespace is dropped because secrets pasted into a console
    /// or a secrets store often gain a trailing newline, and no provider issues one with it.
    pub fn new(value: impl Into<String>) -> Result<Self, EmptySecret> {
        let value = value.into();
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return Err(EmptySecret);
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The secret text, for keying an HMAC or signing in a local sandbox. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn hmac(&self) -> hmac::Hmac<sha2::Sha256> {
        // HMAC zero-pads short keys and hashes keys longer than the block, exactly as
        // `new_from_slice` would, without its `Result` (whose error arm HMAC never takes).
        use sha2::Digest as _;
        let raw = self.0.as_bytes();
        let digest;
        let key: &[u8] = if raw.len() > 64 {
            digest = sha2::Sha256::digest(raw);
            &digest
        } else {
            raw
        };
        let mut block = [0u8; 64];
        for (dst, src) in block.iter_mut().zip(key) {
            *dst = *src;
        }
        <hmac::Hmac<sha2::Sha256> as hmac::digest::KeyInit>::new(&block.into())
    }
}

impl std::fmt::Debug for InboundSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::Mac;

    #[test]
    fn debug_never_shows_the_secret() {
        let secret = InboundSecret::new("your_secret_key_here").unwrap();
        assert_eq!(format!("{secret:?}"), "***");
        assert_eq!(format!("{:?}", Some(&secret)), "Some(***)");
    }

    #[test]
    fn empty_and_blank_secrets_are_refused_and_whitespace_trimmed() {
        assert_eq!(InboundSecret::new(""), Err(EmptySecret));
        assert_eq!(InboundSecret::new(" \n"), Err(EmptySecret));
        assert_eq!(InboundSecret::new("abc\n").unwrap().expose(), "abc");
    }

    #[test]
    fn padded_key_equals_standard_hmac_for_every_key_length() {
        for len in [1, 31, 32, 63, 64, 65, 200] {
            let key = "k".repeat(len);
            let ours = InboundSecret::new(key.clone())
                .unwrap()
                .hmac()
                .chain_update(b"m");
            let reference = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes())
                .unwrap()
                .chain_update(b"m");
            assert_eq!(
                ours.finalize().into_bytes(),
                reference.finalize().into_bytes(),
                "{len}"
            );
        }
    }
}
