//! Strict JSON request bodies, for every route at once (issue 13).
//!
//! A body is read in two passes, neither of which lets an ambiguous document through:
//!
//! 1. [`parse`]: the text becomes a `serde_json::Value`, but through our own visitor
//!    ([`dupes`]), which refuses a key that appears twice in one object at any depth. Going
//!    through `Value`'s own `Deserialize` would keep the last duplicate silently. Syntax errors
//!    and duplicate keys are 400 `invalid_json`.
//! 2. [`typed`]: the value becomes the request type through [`value::Strict`], a deserializer
//!    that is stricter than serde's defaults: a struct only ever comes from a JSON object (serde
//!    derive also accepts an array of the fields in order), fields the struct does not declare
//!    are refused even where `deny_unknown_fields` was forgotten, `null` is refused unless the
//!    field opts in with [`nullable`], integers must be integers in range (no `1.0`, no `-1`
//!    for an unsigned field). Every failure names the JSON pointer of the offending field and
//!    a stable code, and its message never shows a Rust type name. These are 422
//!    `validation_failed`.
//!
//! No crate does this: `serde_path_to_error` only adds paths, and the duplicate-key crates
//! either build their own value type or stop at the top level.

mod dupes;
mod value;

use crate::error::{ApiError, FieldError};
use serde::de::{DeserializeOwned, Deserializer, Visitor};
use std::fmt;

pub use dupes::parse;

/// `#[serde(default, deserialize_with = "nullable")]`: this field (and anything inside it)
/// may be `null` where the API documents `null` as a value of its own, such as "clear this
/// flag". Elsewhere `null` is refused with `null_not_allowed` rather than read as "absent".
/// With any other deserializer (serde_json, DynamoDB items) it changes nothing.
pub fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    struct Through<T>(std::marker::PhantomData<T>);
    impl<'de, T: serde::Deserialize<'de>> Visitor<'de> for Through<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a value or null")
        }
        fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
            T::deserialize(d)
        }
    }
    d.deserialize_newtype_struct(value::NULLABLE, Through(std::marker::PhantomData))
}

/// A request body refused by the typed pass: where, why (stable code), and a message for people.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal {
    /// JSON pointer (RFC 6901) of the offending value; `""` is the whole body.
    pub pointer: String,
    pub code: &'static str,
    pub message: String,
}

impl Refusal {
    pub fn into_field_error(self) -> FieldError {
        FieldError::new(self.pointer, self.code, self.message)
    }
}

/// The typed pass: `value` (a JSON object) into `T`, refusing what [`value::Strict`] refuses.
pub fn typed<T: DeserializeOwned>(value: &serde_json::Value) -> Result<T, Refusal> {
    T::deserialize(value::Strict::root(value)).map_err(value::Failure::into_refusal)
}

/// Both passes plus the objects-only rule, as [`crate::http::ApiRequest::json`] applies them.
pub fn body<T: DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    let value = parse(text)?;
    if !value.is_object() {
        return Err(ApiError::validation(vec![FieldError::new(
            "",
            "invalid_type",
            "the request body must be a JSON object",
        )]));
    }
    typed(&value).map_err(|r| ApiError::validation(vec![r.into_field_error()]))
}

/// `/` and `~` escaped as RFC 6901 requires.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests;
