//! A `serde::Deserializer` over a parsed `Value` with the API's rules rather than serde's
//! lenient defaults (see the module above), tracking the JSON pointer of every value.

use super::{escape, Refusal};
use serde::de::value::BorrowedStrDeserializer;
use serde::de::Visitor;
use serde::de::{self, DeserializeSeed, Deserializer, Expected, MapAccess, SeqAccess, Unexpected};
use serde_json::Value;
use std::fmt;

/// The newtype name [`super::nullable`] asks for: the field below may be `null`.
pub const NULLABLE: &str = "$mostrador::strict::nullable";

/// A refusal on its way up: its pointer is filled in by the innermost value that saw it.
#[derive(Debug)]
pub struct Failure {
    pointer: Option<String>,
    /// The member the error is about, when raised by the struct around it (missing, unknown).
    member: Option<String>,
    code: &'static str,
    message: String,
}

impl Failure {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            pointer: None,
            member: None,
            code,
            message: message.into(),
        }
    }

    fn about(mut self, member: &str) -> Self {
        self.member = Some(member.to_owned());
        self
    }

    /// Places the failure at `at` unless a deeper value already did.
    fn at(mut self, at: &str) -> Self {
        if self.pointer.is_none() {
            self.pointer = Some(match self.member.take() {
                Some(m) => format!("{at}/{}", escape(&m)),
                None => at.to_owned(),
            });
        }
        self
    }

    pub fn into_refusal(self) -> Refusal {
        let pointer = match (self.pointer, self.member) {
            (Some(p), _) => p,
            (None, Some(m)) => format!("/{}", escape(&m)),
            (None, None) => String::new(),
        };
        Refusal {
            pointer,
            code: self.code,
            message: self.message,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// The JSON kind of what was found, for messages (never a Rust type).
fn found(u: &Unexpected) -> &'static str {
    match u {
        Unexpected::Bool(_) => "a boolean",
        Unexpected::Unsigned(_) | Unexpected::Signed(_) => "an integer",
        Unexpected::Float(_) => "a number with a fraction",
        Unexpected::Char(_) | Unexpected::Str(_) | Unexpected::Bytes(_) => "a string",
        Unexpected::Unit | Unexpected::Option => "null",
        Unexpected::Seq => "an array",
        Unexpected::Map => "an object",
        _ => "a value of another kind",
    }
}

impl de::Error for Failure {
    /// Custom messages come from our own types' parsers (ids, e-mail addresses), which speak to
    /// clients; anything that reads like serde's internals is replaced.
    fn custom<T: fmt::Display>(msg: T) -> Self {
        let text = msg.to_string();
        if text.contains('`') || text.contains("expected") || text.contains("::") {
            Self::new("invalid_value", "is not a valid value")
        } else {
            Self::new("invalid_value", text)
        }
    }
    fn invalid_type(unexp: Unexpected, _: &dyn Expected) -> Self {
        match unexp {
            Unexpected::Unit | Unexpected::Option => null_refused(),
            other => Self::new(
                "invalid_type",
                format!("has the wrong type ({})", found(&other)),
            ),
        }
    }
    fn invalid_value(unexp: Unexpected, _: &dyn Expected) -> Self {
        let code = match unexp {
            Unexpected::Unsigned(_) | Unexpected::Signed(_) | Unexpected::Float(_) => {
                "out_of_range"
            }
            _ => "invalid_value",
        };
        Self::new(code, "is not an allowed value")
    }
    fn invalid_length(len: usize, _: &dyn Expected) -> Self {
        Self::new("invalid_length", format!("has the wrong length ({len})"))
    }
    fn unknown_variant(_: &str, expected: &'static [&'static str]) -> Self {
        Self::new(
            "invalid_value",
            format!("must be one of: {}", expected.join(", ")),
        )
    }
    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        unknown(expected).about(field)
    }
    fn missing_field(field: &'static str) -> Self {
        Self::new("required", "is required").about(field)
    }
    fn duplicate_field(field: &'static str) -> Self {
        Self::new("duplicate_key", "is given twice (under two of its names)").about(field)
    }
}

fn null_refused() -> Failure {
    Failure::new(
        "null_not_allowed",
        "must not be null (leave the field out instead)",
    )
}

fn unknown(expected: &[&str]) -> Failure {
    let message = if expected.is_empty() {
        "is not a field of this object".to_owned()
    } else {
        format!(
            "is not a field of this object (known: {})",
            expected.join(", ")
        )
    };
    Failure::new("unknown_field", message)
}

/// One value of the body at `at`. `null_ok` holds below a [`NULLABLE`] field; `member` says
/// the value is a struct's field (there a free-form JSON field may not be `null` either, while
/// `null` inside free-form JSON is data).
pub struct Strict<'de> {
    v: &'de Value,
    at: String,
    null_ok: bool,
    member: bool,
}

impl<'de> Strict<'de> {
    pub fn root(v: &'de Value) -> Self {
        Self {
            v,
            at: String::new(),
            null_ok: false,
            member: false,
        }
    }

    /// `expected` (a JSON kind, "an object") was needed and something else is here.
    fn wrong(&self, expected: &str) -> Failure {
        let failure = match self.v {
            Value::Null => null_refused(),
            Value::Bool(_) => {
                Failure::new("invalid_type", format!("must be {expected}, not a boolean"))
            }
            Value::Number(_) => {
                Failure::new("invalid_type", format!("must be {expected}, not a number"))
            }
            Value::String(_) => {
                Failure::new("invalid_type", format!("must be {expected}, not a string"))
            }
            Value::Array(_) => {
                Failure::new("invalid_type", format!("must be {expected}, not an array"))
            }
            Value::Object(_) => {
                Failure::new("invalid_type", format!("must be {expected}, not an object"))
            }
        };
        failure.at(&self.at)
    }

    /// An integer within `min..=max`: no fractions, no exponents that make one, no strings.
    fn integer(&self, min: i128, max: i128) -> Result<i128, Failure> {
        let n = match self.v {
            Value::Number(n) => n,
            _ => return Err(self.wrong("an integer")),
        };
        let value = match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => i128::from(u),
            (None, Some(i)) => i128::from(i),
            (None, None) => {
                return Err(self.wrong_number("must be an integer, not a number with a fraction"))
            }
        };
        if value < min || value > max {
            let message = format!("must be an integer from {min} to {max}");
            return Err(Failure::new("out_of_range", message).at(&self.at));
        }
        Ok(value)
    }

    fn wrong_number(&self, message: &str) -> Failure {
        Failure::new("invalid_type", message).at(&self.at)
    }

    fn child(&self, v: &'de Value, segment: &str, member: bool) -> Strict<'de> {
        Strict {
            v,
            at: format!("{}/{segment}", self.at),
            null_ok: self.null_ok,
            member,
        }
    }
}

macro_rules! integers {
    ($($method:ident $visit:ident $t:ty;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
            let n = self.integer(i128::from(<$t>::MIN), i128::from(<$t>::MAX))?;
            let n = <$t>::try_from(n).map_err(|_| Failure::new("out_of_range", "is out of range"))?;
            visitor.$visit(n).map_err(|e: Failure| e.at(&self.at))
        }
    )*};
}

impl<'de> Deserializer<'de> for Strict<'de> {
    type Error = Failure;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        let at = self.at.clone();
        match self.v {
            Value::Null if self.member && !self.null_ok => Err(null_refused()),
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => visitor.visit_u64(u),
                (None, Some(i), _) => visitor.visit_i64(i),
                (None, None, Some(f)) => visitor.visit_f64(f),
                (None, None, None) => Err(self.wrong("a number")),
            },
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(items) => visitor.visit_seq(Items::new(self, items)),
            Value::Object(map) => visitor.visit_map(Members::new(self, map, false)),
        }
        .map_err(|e: Failure| e.at(&at))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        match self.v {
            Value::Bool(b) => visitor.visit_bool(*b).map_err(|e: Failure| e.at(&self.at)),
            _ => Err(self.wrong("true or false")),
        }
    }

    integers! {
        deserialize_i8 visit_i8 i8;
        deserialize_i16 visit_i16 i16;
        deserialize_i32 visit_i32 i32;
        deserialize_i64 visit_i64 i64;
        deserialize_u8 visit_u8 u8;
        deserialize_u16 visit_u16 u16;
        deserialize_u32 visit_u32 u32;
        deserialize_u64 visit_u64 u64;
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        match self.v {
            Value::Number(n) => match n.as_f64() {
                Some(f) => visitor.visit_f64(f).map_err(|e: Failure| e.at(&self.at)),
                None => Err(self.wrong("a number")),
            },
            _ => Err(self.wrong("a number")),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        match self.v {
            Value::String(s) => visitor
                .visit_borrowed_str(s)
                .map_err(|e: Failure| e.at(&self.at)),
            _ => Err(self.wrong("a string")),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        self.deserialize_str(visitor)
    }
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        self.deserialize_str(visitor)
    }
    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        self.deserialize_str(visitor)
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        self.deserialize_str(visitor)
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        self.deserialize_str(visitor)
    }

    /// `null` is "absent" only where the field opted in; elsewhere it is refused, so that a
    /// client's `null` can never silently mean "the default" (a whole refund, no grace period).
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        match self.v {
            Value::Null if self.null_ok => {
                visitor.visit_none().map_err(|e: Failure| e.at(&self.at))
            }
            Value::Null => Err(null_refused().at(&self.at)),
            _ => {
                let at = self.at.clone();
                visitor.visit_some(self).map_err(|e: Failure| e.at(&at))
            }
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        match self.v {
            Value::Null => visitor.visit_unit().map_err(|e: Failure| e.at(&self.at)),
            _ => Err(self.wrong("null")),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Failure> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        mut self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Failure> {
        if name == NULLABLE {
            self.null_ok = true;
        }
        let at = self.at.clone();
        visitor
            .visit_newtype_struct(self)
            .map_err(|e: Failure| e.at(&at))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        match self.v {
            Value::Array(items) => {
                let at = self.at.clone();
                visitor
                    .visit_seq(Items::new(self, items))
                    .map_err(|e: Failure| e.at(&at))
            }
            _ => Err(self.wrong("an array")),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, Failure> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, Failure> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        match self.v {
            Value::Object(map) => {
                let at = self.at.clone();
                visitor
                    .visit_map(Members::new(self, map, false))
                    .map_err(|e: Failure| e.at(&at))
            }
            _ => Err(self.wrong("an object")),
        }
    }

    /// Only from an object (serde derive would also take an array of the fields in order), and
    /// only with members the struct declares (`fields` includes aliases), whatever its
    /// attributes say.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Failure> {
        let Value::Object(map) = self.v else {
            return Err(self.wrong("an object"));
        };
        if let Some(key) = map.keys().find(|k| !fields.contains(&k.as_str())) {
            return Err(unknown(fields).about(key).at(&self.at));
        }
        let at = self.at.clone();
        visitor
            .visit_map(Members::new(self, map, true))
            .map_err(|e: Failure| e.at(&at))
    }

    /// Unit variants, named by a string (the only enums request bodies use).
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Failure> {
        match self.v {
            Value::String(s) => {
                let name = BorrowedStrDeserializer::<Failure>::new(s);
                visitor
                    .visit_enum(name)
                    .map_err(|e: Failure| e.at(&self.at))
            }
            _ => Err(self.wrong(&format!("one of: {}", variants.join(", ")))),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        visitor.visit_unit()
    }
}

/// The elements of an array, each at `…/<index>`.
struct Items<'de> {
    parent: Strict<'de>,
    iter: std::iter::Enumerate<std::slice::Iter<'de, Value>>,
}

impl<'de> Items<'de> {
    fn new(parent: Strict<'de>, items: &'de [Value]) -> Self {
        Self {
            parent,
            iter: items.iter().enumerate(),
        }
    }
}

impl<'de> SeqAccess<'de> for Items<'de> {
    type Error = Failure;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Failure> {
        match self.iter.next() {
            Some((i, v)) => seed
                .deserialize(self.parent.child(v, &i.to_string(), false))
                .map(Some),
            None => Ok(None),
        }
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// The members of an object, each value at `…/<escaped key>`.
struct Members<'de> {
    parent: Strict<'de>,
    iter: serde_json::map::Iter<'de>,
    value: Option<(&'de String, &'de Value)>,
    /// The object is a struct (its values are fields), not a map or free-form JSON.
    of_struct: bool,
}

impl<'de> Members<'de> {
    fn new(parent: Strict<'de>, map: &'de serde_json::Map<String, Value>, of_struct: bool) -> Self {
        Self {
            parent,
            iter: map.iter(),
            value: None,
            of_struct,
        }
    }
}

impl<'de> MapAccess<'de> for Members<'de> {
    type Error = Failure;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Failure> {
        let Some((key, value)) = self.iter.next() else {
            return Ok(None);
        };
        self.value = Some((key, value));
        let name = BorrowedStrDeserializer::<Failure>::new(key);
        seed.deserialize(name)
            .map(Some)
            .map_err(|e: Failure| e.at(&self.parent.at))
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Failure> {
        match self.value.take() {
            Some((key, value)) => {
                seed.deserialize(self.parent.child(value, &escape(key), self.of_struct))
            }
            None => Err(Failure::new("invalid_value", "a member without a value")),
        }
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}
