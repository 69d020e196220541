//! E-mail addresses as the SES sender can use them.
//!
//! Deliberately narrower than RFC 5322: a dot-atom local part of printable ASCII without the
//! header specials (`<>()[]\,;:"`), and an ASCII (punycode) domain of at least two labels.
//! Quoted local parts and address literals are legal but practically unused, and accepting
//! them would let a recipient smuggle header syntax into the `To:` line.

use std::fmt;
use std::str::FromStr;

use crate::error::FieldError;

/// RFC 5321 path limit (in octets): longer addresses are undeliverable anyway.
const MAX_LEN: usize = 254;
const MAX_LOCAL_LEN: usize = 64;
const MAX_LABEL_LEN: usize = 63;
/// Characters with a meaning in mail headers; see the module comment.
const LOCAL_SPECIALS: &str = "<>()[]\\,;:\"@";

/// A syntactically valid e-mail address: trimmed, domain lower-cased, local part kept as given
/// (it is case-sensitive in principle).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

/// Why a string is not an [`Email`]. The messages never repeat the input (it is personal data).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Nothing but whitespace.
    #[error("is required")]
    Empty,
    /// Longer than 254 characters.
    #[error("must be at most {MAX_LEN} characters")]
    TooLong,
    /// Whitespace, CR/LF or another control character inside the address.
    #[error("must not contain whitespace or control characters")]
    InvalidCharacter,
    /// Zero or several `@`.
    #[error("must contain exactly one @")]
    At,
    /// Empty, longer than 64 characters, or not a dot-atom of allowed characters.
    #[error("has an invalid part before the @")]
    LocalPart,
    /// Not a dotted host name of valid labels.
    #[error("has an invalid domain")]
    Domain,
}

impl EmailError {
    /// The validation error for the API, under the caller's field name.
    pub fn field_error(&self, field: impl Into<String>) -> FieldError {
        let code = match self {
            Self::Empty => "required",
            Self::TooLong => "too_long",
            _ => "invalid_format",
        };
        FieldError::new(field, code, self.to_string())
    }
}

impl Email {
    /// Parses and normalises an address (the only way to make an `Email`).
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        if trimmed.len() > MAX_LEN {
            return Err(EmailError::TooLong);
        }
        if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(EmailError::InvalidCharacter);
        }
        let mut parts = trimmed.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(EmailError::At);
        };
        if !valid_local(local) {
            return Err(EmailError::LocalPart);
        }
        let domain = domain.to_ascii_lowercase();
        if !valid_domain(&domain) {
            return Err(EmailError::Domain);
        }
        Ok(Self(format!("{local}@{domain}")))
    }

    /// The address as sent to SES.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after the `@` (lower case); safe enough to log, unlike the address.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, domain)| domain)
    }
}

fn valid_local(local: &str) -> bool {
    !local.is_empty()
        && local.len() <= MAX_LOCAL_LEN
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_graphic() && !LOCAL_SPECIALS.contains(c))
}

fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|label| valid_label(label))
        // A numeric top-level label means an IP address, not a mail domain.
        && labels
            .last()
            .is_some_and(|tld| !tld.bytes().all(|b| b.is_ascii_digit()))
}

fn valid_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= MAX_LABEL_LEN
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email(***@{})", self.domain())
    }
}

impl FromStr for Email {
    type Err = EmailError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl serde::Serialize for Email {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Email {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw)
            .map_err(|e| serde::de::Error::custom(format_args!("invalid e-mail address: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn normalises_case_of_domain_only_and_trims() {
        let email = Email::parse("  Ana.Perez+promo@Example.COM.ar \n").unwrap();
        assert_eq!(email.as_str(), "Ana.Perez+promo@example.com.ar");
        assert_eq!(email.to_string(), "Ana.Perez+promo@example.com.ar");
        assert_eq!(email.domain(), "example.com.ar");
    }

    #[test]
    fn rejects_malformed_addresses() {
        let cases = [
            ("", EmailError::Empty),
            ("   ", EmailError::Empty),
            ("ana", EmailError::At),
            ("ana@@example.com", EmailError::At),
            ("ana@b@example.com", EmailError::At),
            ("@example.com", EmailError::LocalPart),
            (".ana@example.com", EmailError::LocalPart),
            ("ana.@example.com", EmailError::LocalPart),
            ("a..na@example.com", EmailError::LocalPart),
            ("<ana>@example.com", EmailError::LocalPart),
            ("ana@example", EmailError::Domain),
            ("ana@-example.com", EmailError::Domain),
            ("ana@example-.com", EmailError::Domain),
            ("ana@example..com", EmailError::Domain),
            ("ana@exa_mple.com", EmailError::Domain),
            ("ana@127.0.0.1", EmailError::Domain),
            ("ana@exámple.com", EmailError::Domain),
            ("ana pérez@example.com", EmailError::InvalidCharacter),
            (
                "ana@example.com\r\nBcc: x@evil.com",
                EmailError::InvalidCharacter,
            ),
            ("ana\u{0}@example.com", EmailError::InvalidCharacter),
        ];
        for (input, expected) in cases {
            assert_eq!(Email::parse(input), Err(expected), "{input:?}");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert_eq!(Email::parse(&long_local), Err(EmailError::LocalPart));
        let long = format!("a@{}.com", "b".repeat(250));
        assert_eq!(Email::parse(&long), Err(EmailError::TooLong));
    }

    #[test]
    fn debug_masks_the_address() {
        let email = Email::parse("ana.perez@example.com").unwrap();
        let debug = format!("{email:?}");
        assert_eq!(debug, "Email(***@example.com)");
        assert!(!debug.contains("ana"));
    }

    #[test]
    fn serde_uses_the_parser_and_the_plain_string() {
        let email: Email = serde_json::from_str("\" Ana@Example.com \"").unwrap();
        assert_eq!(
            serde_json::to_string(&email).unwrap(),
            "\"Ana@example.com\""
        );
        let err = serde_json::from_str::<Email>("\"nope\"").unwrap_err();
        assert!(err.to_string().contains("exactly one @"), "{err}");
    }

    #[test]
    fn field_errors_carry_stable_codes() {
        assert_eq!(EmailError::Empty.field_error("to").code, "required");
        let err = EmailError::Domain.field_error("recipient.email");
        assert_eq!(err.field, "recipient.email");
        assert_eq!(err.code, "invalid_format");
    }

    proptest! {
        #[test]
        fn never_panics(input in "\\PC*") {
            let _ = Email::parse(&input);
        }

        #[test]
        fn parsing_is_idempotent(input in "[ ]{0,2}[A-Za-z0-9._%+-]{1,20}@[A-Za-z0-9.-]{1,30}[ ]{0,2}") {
            if let Ok(email) = Email::parse(&input) {
                let again = Email::parse(email.as_str()).unwrap();
                prop_assert_eq!(&again, &email);
                prop_assert_eq!(again.to_string(), email.to_string());
            }
        }

        #[test]
        fn valid_addresses_round_trip(
            local in "[a-zA-Z0-9_+-]{1,20}(\\.[a-zA-Z0-9_+-]{1,10}){0,2}",
            labels in proptest::collection::vec("[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", 1..4),
            tld in "[a-zA-Z]{2,6}",
        ) {
            let input = format!("{local}@{}.{tld}", labels.join("."));
            let email = Email::parse(&input).unwrap();
            prop_assert_eq!(email.as_str(), format!("{local}@{}", input.split_once('@').unwrap().1.to_ascii_lowercase()));
            let json = serde_json::to_string(&email).unwrap();
            prop_assert_eq!(serde_json::from_str::<Email>(&json).unwrap(), email);
        }
    }
}
