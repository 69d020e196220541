//! Parsing of `POST /<version>/<phone-number-id>/messages` bodies into what the sandbox needs,
//! refusing what the real Cloud API refuses (code 100 with the offending parameter).

use serde_json::{Map, Value};

use super::errors::GraphError;

/// `biz_opaque_callback_data` is limited to 512 characters.
const MAX_OPAQUE: usize = 512;
/// A text message body is limited to 4096 characters.
const MAX_TEXT: usize = 4096;

/// A send request the sandbox accepted as well-formed.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    /// `to` as given (echoed as `contacts[].input`).
    pub(crate) to: String,
    /// `to` reduced to digits (`contacts[].wa_id`, `recipient_id` in statuses).
    pub(crate) wa_id: String,
    pub(crate) biz_opaque: Option<String>,
    pub(crate) kind: Kind,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Text {
        body: String,
    },
    Template {
        name: String,
        body_params: usize,
        raw: Value,
    },
}

impl Kind {
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Kind::Text { .. } => "text",
            Kind::Template { .. } => "template",
        }
    }
}

pub(crate) fn parse(body: &[u8]) -> Result<Outgoing, GraphError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| GraphError::invalid(&format!("request body is not valid JSON: {e}")))?;
    let Value::Object(root) = value else {
        return Err(GraphError::invalid("request body must be a JSON object"));
    };
    match root.get("messaging_product") {
        None => return Err(GraphError::required("messaging_product")),
        Some(Value::String(p)) if p == "whatsapp" => {}
        Some(_) => {
            return Err(GraphError::invalid(
                "messaging_product must be \"whatsapp\"",
            ))
        }
    }
    if let Some(kind) = root.get("recipient_type") {
        if kind.as_str() != Some("individual") {
            return Err(GraphError::invalid("recipient_type must be \"individual\""));
        }
    }
    let to = required_str(&root, "to", "to")?;
    let wa_id = phone_digits(to)?;
    let biz_opaque = match root.get("biz_opaque_callback_data") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.chars().count() <= MAX_OPAQUE => Some(s.clone()),
        Some(_) => {
            return Err(GraphError::invalid(
                "biz_opaque_callback_data must be a string of at most 512 characters",
            ))
        }
    };
    // The real API defaults `type` to text.
    let kind = match root.get("type").map(Value::as_str) {
        None | Some(Some("text")) => text(&root)?,
        Some(Some("template")) => template(&root)?,
        Some(Some(other)) => {
            return Err(GraphError::invalid(&format!(
                "type \"{other}\": the sandbox accepts text and template messages only"
            )))
        }
        Some(None) => return Err(GraphError::invalid("type must be a string")),
    };
    Ok(Outgoing {
        to: to.to_owned(),
        wa_id,
        biz_opaque,
        kind,
    })
}

fn text(root: &Map<String, Value>) -> Result<Kind, GraphError> {
    let text = object(root, "text", "text")?;
    if let Some(preview) = text.get("preview_url") {
        if !preview.is_boolean() {
            return Err(GraphError::invalid("text['preview_url'] must be a boolean"));
        }
    }
    let body = required_str(text, "body", "text['body']")?;
    if body.trim().is_empty() {
        return Err(GraphError::invalid("text['body'] must not be empty"));
    }
    if body.chars().count() > MAX_TEXT {
        return Err(GraphError::invalid(
            "text['body'] is longer than 4096 characters",
        ));
    }
    Ok(Kind::Text {
        body: body.to_owned(),
    })
}

fn template(root: &Map<String, Value>) -> Result<Kind, GraphError> {
    let template = object(root, "template", "template")?;
    let name = required_str(template, "name", "template['name']")?;
    let language = object(template, "language", "template['language']")?;
    required_str(language, "code", "template['language']['code']")?;
    let mut body_params = 0;
    match template.get("components") {
        None => {}
        Some(Value::Array(components)) => {
            for (i, component) in components.iter().enumerate() {
                let count = component_params(component, i)?;
                if component.get("type").and_then(Value::as_str) == Some("body") {
                    body_params += count;
                }
            }
        }
        Some(_) => {
            return Err(GraphError::invalid(
                "template['components'] must be an array",
            ))
        }
    }
    Ok(Kind::Template {
        name: name.to_owned(),
        body_params,
        raw: Value::Object(template.clone()),
    })
}

/// Validates one component; returns its parameter count.
fn component_params(component: &Value, i: usize) -> Result<usize, GraphError> {
    let at = format!("template['components'][{i}]");
    let Value::Object(component) = component else {
        return Err(GraphError::invalid(&format!("{at} must be an object")));
    };
    let kind = required_str(component, "type", &format!("{at}['type']"))?;
    if !matches!(
        kind,
        "header" | "body" | "button" | "footer" | "carousel" | "limited_time_offer"
    ) {
        return Err(GraphError::invalid(&format!(
            "{at}['type'] \"{kind}\" is not a component type"
        )));
    }
    if kind == "button" {
        required_str(component, "sub_type", &format!("{at}['sub_type']"))?;
        if component.get("index").is_none() {
            return Err(GraphError::required(&format!("{at}['index']")));
        }
    }
    let parameters = match component.get("parameters") {
        None => return Ok(0),
        Some(Value::Array(parameters)) => parameters,
        Some(_) => {
            return Err(GraphError::invalid(&format!(
                "{at}['parameters'] must be an array"
            )))
        }
    };
    for (j, parameter) in parameters.iter().enumerate() {
        parameter_ok(parameter, &format!("{at}['parameters'][{j}]"))?;
    }
    Ok(parameters.len())
}

fn parameter_ok(parameter: &Value, at: &str) -> Result<(), GraphError> {
    let Value::Object(parameter) = parameter else {
        return Err(GraphError::invalid(&format!("{at} must be an object")));
    };
    let kind = required_str(parameter, "type", &format!("{at}['type']"))?;
    match kind {
        "text" | "payload" => {
            required_str(parameter, kind, &format!("{at}['{kind}']"))?;
        }
        "currency" | "date_time" | "image" | "document" | "video" | "location" | "action" => {
            object(parameter, kind, &format!("{at}['{kind}']"))?;
        }
        other => {
            return Err(GraphError::invalid(&format!(
                "{at}['type'] \"{other}\" is not a parameter type"
            )))
        }
    }
    Ok(())
}

fn required_str<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    at: &str,
) -> Result<&'a str, GraphError> {
    match map.get(key) {
        None | Some(Value::Null) => Err(GraphError::required(at)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(GraphError::invalid(&format!("{at} must be a string"))),
    }
}

fn object<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    at: &str,
) -> Result<&'a Map<String, Value>, GraphError> {
    match map.get(key) {
        None | Some(Value::Null) => Err(GraphError::required(at)),
        Some(Value::Object(o)) => Ok(o),
        Some(_) => Err(GraphError::invalid(&format!("{at} must be an object"))),
    }
}

/// Digits of a phone number written with optional `+`, spaces, dashes, dots or parentheses.
fn phone_digits(to: &str) -> Result<String, GraphError> {
    let allowed = |c: char| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '.' | '(' | ')');
    let digits: String = to.chars().filter(char::is_ascii_digit).collect();
    if !to.chars().all(allowed) || !(5..=15).contains(&digits.len()) {
        return Err(GraphError::invalid(
            "to must be a phone number in international format",
        ));
    }
    Ok(digits)
}
