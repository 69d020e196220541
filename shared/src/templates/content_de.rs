//! Reading a [`TemplateContent`] with every member checked where it stands.
//!
//! serde's derive for an internally tagged enum buffers the object and reads the variant from
//! that buffer, out of reach of the request extractor (`http::strict`): a `null` or a wrong type
//! inside it could not be named by its JSON pointer. So the object is read as one flat struct of
//! every kind's members, which the extractor checks like any other, and only then narrowed to
//! the kind, refusing members of another kind. Stored contents (written by `Serialize`) read the
//! same way.

use super::{EmailContent, TemplateContent, WhatsAppTemplateRef, WhatsAppTextContent};
use serde::de::{Deserializer, Error};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Email,
    #[serde(rename = "whatsapp_text")]
    WhatsAppText,
    #[serde(rename = "whatsapp_template")]
    WhatsAppTemplate,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Flat {
    kind: Kind,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    html: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    parameters: Option<Vec<String>>,
}

const EMAIL: &[&str] = &["kind", "subject", "html", "text"];
const WHATSAPP_TEXT: &[&str] = &["kind", "body"];
const WHATSAPP_TEMPLATE: &[&str] = &["kind", "name", "language", "parameters"];

impl Flat {
    /// The first member given that `allowed` does not list, as an unknown field.
    fn only<E: Error>(&self, allowed: &'static [&'static str]) -> Result<(), E> {
        let given = [
            ("subject", self.subject.is_some()),
            ("html", self.html.is_some()),
            ("text", self.text.is_some()),
            ("body", self.body.is_some()),
            ("name", self.name.is_some()),
            ("language", self.language.is_some()),
            ("parameters", self.parameters.is_some()),
        ];
        match given.iter().find(|(m, is)| *is && !allowed.contains(m)) {
            Some((m, _)) => Err(E::unknown_field(m, allowed)),
            None => Ok(()),
        }
    }
}

fn required<T, E: Error>(value: Option<T>, member: &'static str) -> Result<T, E> {
    value.ok_or_else(|| E::missing_field(member))
}

impl<'de> Deserialize<'de> for TemplateContent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let flat = Flat::deserialize(d)?;
        Ok(match flat.kind {
            Kind::Email => {
                flat.only(EMAIL)?;
                TemplateContent::Email(EmailContent {
                    subject: required(flat.subject, "subject")?,
                    html: flat.html,
                    text: flat.text,
                })
            }
            Kind::WhatsAppText => {
                flat.only(WHATSAPP_TEXT)?;
                TemplateContent::WhatsAppText(WhatsAppTextContent {
                    body: required(flat.body, "body")?,
                })
            }
            Kind::WhatsAppTemplate => {
                flat.only(WHATSAPP_TEMPLATE)?;
                TemplateContent::WhatsAppTemplate(WhatsAppTemplateRef {
                    name: required(flat.name, "name")?,
                    language: required(flat.language, "language")?,
                    parameters: flat.parameters.unwrap_or_default(),
                })
            }
        })
    }
}
