//! International phone numbers in E.164 form (`+5491155550000`).
//!
//! Shops paste numbers as their customers typed them (`+54 9 11 5555-0000`, `+1 (415) 555 0100`),
//! so the usual visual separators are accepted and dropped. A leading `+` is required: without
//! the country code a number is ambiguous, and guessing one would message a stranger.

use std::fmt;
use std::str::FromStr;

use crate::error::FieldError;

/// E.164 allows at most 15 digits including the country code.
const MAX_DIGITS: usize = 15;
/// Shorter "numbers" are almost always typos or national short codes, which WhatsApp and SMS
/// gateways cannot reach internationally.
const MIN_DIGITS: usize = 8;

/// A phone number in E.164 form: `+` followed by 8 to 15 digits, the first non-zero.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Phone(String);

/// Why a string is not a [`Phone`]. The messages never repeat the input (it is personal data).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Nothing but whitespace.
    #[error("is required")]
    Empty,
    /// No leading `+` and country code.
    #[error("must start with + and the country code")]
    MissingPlus,
    /// A character other than digits, spaces, `-`, `.` and parentheses.
    #[error("may contain only digits, spaces, dashes, dots and parentheses after the +")]
    InvalidCharacter,
    /// The country code starts with 0.
    #[error("country code cannot start with 0")]
    LeadingZero,
    /// Fewer than 8 or more than 15 digits.
    #[error("must have between {MIN_DIGITS} and {MAX_DIGITS} digits")]
    Length,
}

impl PhoneError {
    /// The validation error for the API, under the caller's field name.
    pub fn field_error(&self, field: impl Into<String>) -> FieldError {
        let code = match self {
            Self::Empty => "required",
            _ => "invalid_format",
        };
        FieldError::new(field, code, self.to_string())
    }
}

impl Phone {
    /// Parses and normalises a number (the only way to make a `Phone`).
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        let rest = trimmed.strip_prefix('+').ok_or(PhoneError::MissingPlus)?;
        // "+44 (0)20 …" marks the national trunk prefix, which international dialling omits.
        let rest = rest.replacen("(0)", "", 1);
        let mut digits = String::with_capacity(MAX_DIGITS + 1);
        digits.push('+');
        for c in rest.chars() {
            match c {
                '0'..='9' => {
                    if digits.len() > MAX_DIGITS {
                        return Err(PhoneError::Length);
                    }
                    digits.push(c);
                }
                '-' | '.' | '(' | ')' => {}
                c if c.is_whitespace() => {}
                _ => return Err(PhoneError::InvalidCharacter),
            }
        }
        if digits.as_bytes().get(1) == Some(&b'0') {
            return Err(PhoneError::LeadingZero);
        }
        if !(MIN_DIGITS..=MAX_DIGITS).contains(&(digits.len() - 1)) {
            return Err(PhoneError::Length);
        }
        Ok(Self(digits))
    }

    /// The E.164 form, with the `+`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits without the `+`, as wa.me links and the WhatsApp Cloud API `to` field want.
    pub fn digits(&self) -> &str {
        self.0.get(1..).unwrap_or_default()
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Phone {
    /// Keeps the last two digits only: enough to tell two test numbers apart in a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tail = self.0.get(self.0.len().saturating_sub(2)..).unwrap_or("");
        write!(f, "Phone(+***{tail})")
    }
}

impl FromStr for Phone {
    type Err = PhoneError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for Phone {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl serde::Serialize for Phone {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Phone {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw)
            .map_err(|e| serde::de::Error::custom(format_args!("invalid phone number: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn strips_separators() {
        for (input, expected) in [
            ("+54 9 11 5555-0000", "+5491155550000"),
            (" +1 (415) 555.0100 ", "+14155550100"),
            ("+44 (0)20 7946 0958", "+442079460958"),
            ("+5491155550000", "+5491155550000"),
        ] {
            let phone = Phone::parse(input).unwrap();
            assert_eq!(phone.as_str(), expected, "{input}");
            assert_eq!(phone.digits(), &expected[1..]);
        }
    }

    #[test]
    fn rejects_invalid_numbers() {
        let cases = [
            ("", PhoneError::Empty),
            ("5491155550000", PhoneError::MissingPlus),
            ("00 54 9 11 5555 0000", PhoneError::MissingPlus),
            ("+0 11 5555 0000", PhoneError::LeadingZero),
            ("+54 11 5555 0000 ext 2", PhoneError::InvalidCharacter),
            ("+54 11 5555\u{0}0000", PhoneError::InvalidCharacter),
            ("+54+1155550000", PhoneError::InvalidCharacter),
            ("+1234567", PhoneError::Length),
            ("+1234567890123456", PhoneError::Length),
            ("+", PhoneError::Length),
        ];
        for (input, expected) in cases {
            assert_eq!(Phone::parse(input), Err(expected), "{input:?}");
        }
    }

    #[test]
    fn debug_masks_the_number() {
        let phone = Phone::parse("+5491155550042").unwrap();
        assert_eq!(format!("{phone:?}"), "Phone(+***42)");
    }

    #[test]
    fn serde_uses_the_parser_and_the_plain_string() {
        let phone: Phone = serde_json::from_str("\"+54 9 11 5555-0000\"").unwrap();
        assert_eq!(serde_json::to_string(&phone).unwrap(), "\"+5491155550000\"");
        let err = serde_json::from_str::<Phone>("\"1155550000\"").unwrap_err();
        assert!(err.to_string().contains("country code"), "{err}");
    }

    proptest! {
        #[test]
        fn never_panics(input in "\\PC*") {
            let _ = Phone::parse(&input);
        }

        #[test]
        fn normalisation_is_idempotent(input in "[+]?[0-9 ().-]{0,30}") {
            if let Ok(phone) = Phone::parse(&input) {
                prop_assert_eq!(Phone::parse(phone.as_str()).unwrap(), phone.clone());
                prop_assert!(phone.digits().bytes().all(|b| b.is_ascii_digit()));
            }
        }

        #[test]
        fn formatted_numbers_round_trip(
            digits in "[1-9][0-9]{7,14}",
            seps in proptest::collection::vec(prop_oneof![Just(""), Just(" "), Just("-"), Just(".")], 15),
        ) {
            let spaced: String = digits
                .chars()
                .zip(seps.iter())
                .map(|(d, s)| format!("{d}{s}"))
                .collect();
            let phone = Phone::parse(&format!("+{spaced}")).unwrap();
            prop_assert_eq!(phone.digits(), digits.as_str());
            let json = serde_json::to_string(&phone).unwrap();
            prop_assert_eq!(serde_json::from_str::<Phone>(&json).unwrap(), phone);
        }
    }
}
