//! DynamoDB items as "DynamoDB JSON" (`{"S":"…"}`, `{"N":"1"}`, `{"M":{…}}`, …): the format of
//! `aws dynamodb scan --output json` and of DynamoDB's S3 export, lossless both ways.

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

pub type Item = HashMap<String, AttributeValue>;

pub fn to_json(item: &Item) -> Value {
    Value::Object(
        item.iter()
            .map(|(k, v)| (k.clone(), attribute(v)))
            .collect::<Map<_, _>>(),
    )
}

fn attribute(v: &AttributeValue) -> Value {
    match v {
        AttributeValue::S(s) => json!({"S": s}),
        AttributeValue::N(n) => json!({"N": n}),
        AttributeValue::Bool(b) => json!({"BOOL": b}),
        AttributeValue::Null(_) => json!({"NULL": true}),
        AttributeValue::B(b) => json!({"B": STANDARD.encode(b.as_ref())}),
        AttributeValue::Ss(v) => json!({"SS": v}),
        AttributeValue::Ns(v) => json!({"NS": v}),
        AttributeValue::Bs(v) => {
            json!({"BS": v.iter().map(|b| STANDARD.encode(b.as_ref())).collect::<Vec<_>>()})
        }
        AttributeValue::L(l) => json!({"L": l.iter().map(attribute).collect::<Vec<_>>()}),
        AttributeValue::M(m) => json!({"M": to_json(m)}),
        // A type newer than this SDK: kept visibly rather than silently dropped.
        _ => json!({"UNKNOWN": true}),
    }
}

/// The inverse of [`to_json`]; names the first attribute it cannot read.
pub fn from_json(value: &Value) -> Result<Item, String> {
    let object = value.as_object().ok_or("an item must be a JSON object")?;
    object
        .iter()
        .map(|(k, v)| Ok((k.clone(), parse(v).map_err(|e| format!("{k}: {e}"))?)))
        .collect()
}

fn strings(v: &Value) -> Result<Vec<String>, String> {
    v.as_array()
        .ok_or("expected an array")?
        .iter()
        .map(|s| {
            s.as_str()
                .map(str::to_owned)
                .ok_or_else(|| "expected strings".to_owned())
        })
        .collect()
}

fn blob(s: &str) -> Result<Blob, String> {
    STANDARD
        .decode(s)
        .map(Blob::new)
        .map_err(|e| format!("bad base64: {e}"))
}

fn parse(v: &Value) -> Result<AttributeValue, String> {
    let object = v
        .as_object()
        .filter(|o| o.len() == 1)
        .ok_or("expected {\"<type>\": value}")?;
    let (kind, inner) = object.iter().next().ok_or("empty attribute")?;
    let text = || inner.as_str().map(str::to_owned).ok_or("expected a string");
    Ok(match kind.as_str() {
        "S" => AttributeValue::S(text()?),
        "N" => AttributeValue::N(text()?),
        "BOOL" => AttributeValue::Bool(inner.as_bool().ok_or("expected a boolean")?),
        "NULL" => AttributeValue::Null(true),
        "B" => AttributeValue::B(blob(&text()?)?),
        "SS" => AttributeValue::Ss(strings(inner)?),
        "NS" => AttributeValue::Ns(strings(inner)?),
        "BS" => AttributeValue::Bs(
            strings(inner)?
                .iter()
                .map(|s| blob(s))
                .collect::<Result<_, _>>()?,
        ),
        "L" => AttributeValue::L(
            inner
                .as_array()
                .ok_or("expected an array")?
                .iter()
                .map(parse)
                .collect::<Result<_, _>>()?,
        ),
        "M" => AttributeValue::M(from_json(inner)?),
        other => return Err(format!("unknown attribute type {other}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips() {
        let mut nested = Item::new();
        nested.insert("n".into(), AttributeValue::N("-1.5".into()));
        let mut item = Item::new();
        item.insert("s".into(), AttributeValue::S("a\"b\u{e9}".into()));
        item.insert("b".into(), AttributeValue::B(Blob::new(vec![0, 159, 255])));
        item.insert("t".into(), AttributeValue::Bool(true));
        item.insert("z".into(), AttributeValue::Null(true));
        item.insert(
            "ss".into(),
            AttributeValue::Ss(vec!["x".into(), "y".into()]),
        );
        item.insert("ns".into(), AttributeValue::Ns(vec!["1".into()]));
        item.insert("bs".into(), AttributeValue::Bs(vec![Blob::new(vec![1])]));
        item.insert(
            "l".into(),
            AttributeValue::L(vec![
                AttributeValue::M(nested.clone()),
                AttributeValue::S(String::new()),
            ]),
        );
        item.insert("m".into(), AttributeValue::M(nested));
        let text = to_json(&item).to_string();
        let back = from_json(&serde_json::from_str(&text).unwrap_or_default());
        assert_eq!(back, Ok(item));
    }

    #[test]
    fn malformed_attributes_are_named() {
        let bad = json!({"pk": {"S": "P#x"}, "count": {"N": 3}});
        assert!(from_json(&bad).unwrap_err().starts_with("count"));
        assert!(from_json(&json!({"a": {"Q": "1"}})).is_err());
        assert!(from_json(&json!({"a": {"S": "1", "N": "1"}})).is_err());
    }
}
