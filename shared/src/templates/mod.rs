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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailContent {
    /// Rendered without escaping; CR/LF in the result become spaces (header injection).
    pub subject: String,
    /// Rendered with HTML auto-escaping of every `{{ … }}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// Plain-text alternative, rendered without escaping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// A WhatsApp text message body template (not escaped: WhatsApp shows text, not HTML).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhatsAppTextContent {
    /// The message template.
    pub body: String,
}

/// A reference to a Meta-approved WhatsApp template and how to fill its body parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhatsAppTemplateRef {
    /// The template's name at Meta (`order_shipped`).
    pub name: String,
    /// Its language code at Meta (`es_AR`, `en`).
    pub language: String,
    /// One template per body parameter, in order (`{{1}}`, `{{2}}`, …): plain text or
    /// minijinja such as `{{ customer.first_name }}`.
    #[serde(default)]
    pub parameters: Vec<String>,
}

#[cfg(test)]
mod tests;
