//! Shop-written notification templates: validation at save time and sandboxed rendering.
//!
//! Shops write templates, so they are untrusted code. They run in minijinja inside the sandbox
//! of [`sandbox`](self) with the budgets of [`limits`]: no file access, an instruction budget,
//! a recursion cap, bounded source, value and output sizes, strict undefined variables, HTML
//! escaping in the html part only. [`validate`] runs when a template is saved and lists the
//! variables it needs; [`render`] renders it for sending, and for previews (same function, so
//! a preview shows exactly what would be sent).
//!
//! Every variable a template reads must be supplied, unless the template guards it with
//! `{% if x is defined %}` or `{{ x|default('…') }}`; a plain `{% if x %}` on an absent variable
//! is an error (strict undefined), which is what catches typos.
//!
//! Known limits of the sandbox: HTML escaping is not URL-context aware (`href="{{ url }}"`
//! accepts `javascript:`); a single builtin operation on deeply nested *shared* structures
//! (`==` or `|sort` over lists built as `[a, a]` twenty levels deep) is not metered by fuel, so
//! the Lambda timeout is the last line there.

mod allowlist;
mod content_de;
pub mod limits;
mod render;
mod sandbox;
mod scan;
mod validate;

use serde::{Deserialize, Serialize};

pub use render::{render, RenderError, Rendered, RenderedEmail, RenderedWhatsAppTemplate};
pub use validate::validate;

/// A notification template as the shop wrote it, by channel.
/// Read by `content_de` (every member checked where it stands), written by the derive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TemplateContent {
    /// An e-mail sent through SES.
    Email(EmailContent),
    /// Free WhatsApp text (Cloud API inside the 24 h window, or a click-to-chat link).
    #[serde(rename = "whatsapp_text")]
    WhatsAppText(WhatsAppTextContent),
    /// A template pre-approved by Meta: we only fill in its body parameters.
    #[serde(rename = "whatsapp_template")]
    WhatsAppTemplate(WhatsAppTemplateRef),
}

/// E-mail parts, each a template. At least one of `html` and `text` is required.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "email", "subject": "Order {{ order.id }} shipped", "html": "<p>Hi {{ customer.first_name }}</p>"}))]
pub struct EmailContent {
    /// Rendered without escaping; CR/LF in the result become spaces (header injection).
    #[schema(min_length = 1)]
    pub subject: String,
    /// Rendered with HTML auto-escaping of every `{{ … }}`. At least one of html and text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub html: Option<String>,
    /// Plain-text alternative, rendered without escaping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub text: Option<String>,
}

/// A WhatsApp text message body template (not escaped: WhatsApp shows text, not HTML).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = WhatsAppTextContent, example = json!({"kind": "whatsapp_text", "body": "Hola {{ name }}, tu pedido salió."}))]
pub struct WhatsAppTextContent {
    /// The message template.
    pub body: String,
}

/// A reference to a Meta-approved WhatsApp template and how to fill its body parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = WhatsAppTemplateContent)]
pub struct WhatsAppTemplateRef {
    /// The template's name at Meta (`order_shipped`).
    #[schema(min_length = 1)]
    pub name: String,
    /// Its language code at Meta (`es_AR`, `en`).
    #[schema(example = "es_AR")]
    pub language: String,
    /// One template per body parameter, in order (`{{1}}`, `{{2}}`, …): plain text or
    /// minijinja such as `{{ customer.first_name }}`.
    #[serde(default)]
    pub parameters: Vec<String>,
}

/// The contract's view of [`TemplateContent`]: one of the three shapes, chosen by `kind`. Each
/// shape is its struct's derived schema with the `kind` tag serde adds; read by `content_de`.
impl utoipa::PartialSchema for TemplateContent {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let mut one_of = utoipa::openapi::schema::OneOfBuilder::new().description(Some(
            "The template itself; `kind` selects the shape. Template strings are minijinja.",
        ));
        let mut mapping = Vec::new();
        for (kind, name) in Self::KINDS {
            let location = format!("#/components/schemas/{name}");
            one_of = one_of.item(utoipa::openapi::Ref::new(location.clone()));
            mapping.push((kind.to_owned(), location));
        }
        let mut discriminator = utoipa::openapi::Discriminator::new("kind");
        discriminator.mapping = mapping.into_iter().collect();
        one_of.discriminator(Some(discriminator)).into()
    }
}

impl utoipa::ToSchema for TemplateContent {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        use utoipa::PartialSchema;
        let shapes = [
            EmailContent::schema(),
            WhatsAppTextContent::schema(),
            WhatsAppTemplateRef::schema(),
        ];
        for ((kind, name), shape) in Self::KINDS.into_iter().zip(shapes) {
            let utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::Object(mut object)) =
                shape
            else {
                continue;
            };
            object.properties.insert(
                "kind".into(),
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([kind]))
                    .into(),
            );
            object.required.insert(0, "kind".into());
            schemas.push((name.to_owned(), object.into()));
        }
    }
}

impl TemplateContent {
    /// `kind` tag => the contract's schema name, as serde spells the tags above.
    const KINDS: [(&'static str, &'static str); 3] = [
        ("email", "EmailContent"),
        ("whatsapp_text", "WhatsAppTextContent"),
        ("whatsapp_template", "WhatsAppTemplateContent"),
    ];
}

#[cfg(test)]
mod tests;
