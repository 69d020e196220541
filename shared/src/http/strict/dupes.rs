//! JSON text to `Value`, refusing duplicate keys at any depth.

use super::escape;
use crate::error::{ApiError, FieldError};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::fmt;

/// Parses `text` as one JSON document: 400 `invalid_json` for a syntax error or for a key
/// repeated inside one object (`errors[0]` then names it with code `duplicate_key`). Nesting
/// stays bounded by serde_json's recursion limit (128).
pub fn parse(text: &str) -> Result<Value, ApiError> {
    let duplicate = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_str(text);
    let seed = Node {
        at: String::new(),
        duplicate: &duplicate,
    };
    let parsed = seed.deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    match (parsed, duplicate.into_inner()) {
        (Ok(value), _) => Ok(value),
        (Err(_), Some(pointer)) => Err(ApiError::bad_request(
            "invalid_json",
            format!("request body has the key {pointer} more than once"),
        )
        .with_errors(vec![FieldError::new(
            pointer,
            "duplicate_key",
            "appears more than once in the same object",
        )])),
        (Err(e), None) => Err(ApiError::bad_request(
            "invalid_json",
            format!(
                "request body is not valid JSON: {} at line {} column {}",
                syntax(&e),
                e.line(),
                e.column()
            ),
        )),
    }
}

/// serde_json's syntax message without its position (given separately) or any type name.
fn syntax(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let text = text.find(" at line ").map_or(&*text, |i| &text[..i]);
    text.to_owned()
}

/// One value of the document, at JSON pointer `at`.
struct Node<'s> {
    at: String,
    /// Where the first duplicate key was found (the error itself can only carry text).
    duplicate: &'s RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Node {
            at: format!("{}/{}", self.at, items.len()),
            duplicate: self.duplicate,
        })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let at = format!("{}/{}", self.at, escape(&key));
            if object.contains_key(&key) {
                *self.duplicate.borrow_mut() = Some(at);
                return Err(de::Error::custom("duplicate key"));
            }
            let value = map.next_value_seed(Node {
                at,
                duplicate: self.duplicate,
            })?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}
