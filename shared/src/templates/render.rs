//! Rendering (for sending and for previews) inside the sandbox.

use std::fmt;
use std::sync::Arc;

use minijinja::ErrorKind;
use serde::Serialize;

use super::limits::{MAX_OUTPUT_BYTES, MAX_SUBJECT_BYTES, MAX_WHATSAPP_TEXT_CHARS};
use super::sandbox::{self, Budget, LimitedWriter, Trip};
use super::validate::{analyse, parts, Part, PartKind};
use super::TemplateContent;
use crate::error::FieldError;

/// Why a render failed. [`code`](Self::code) is stable for API clients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// `invalid_template`: the content fails [`validate`](super::validate) (e.g. saved before a
    /// limit was tightened).
    #[error("the template is invalid: {}", summary(.0))]
    InvalidTemplate(Vec<FieldError>),
    /// `invalid_variables`: the variables are not a JSON object.
    #[error("variables must be a JSON object")]
    InvalidVariables,
    /// `missing_variable`: variables the template needs were not supplied.
    #[error("missing variables: {}", .names.join(", "))]
    MissingVariable {
        /// Sorted names of the absent top-level variables.
        names: Vec<String>,
    },
    /// `missing_variable`: an undefined value was used while rendering (`order.totl`).
    #[error("{field}: undefined value: {message}")]
    Undefined {
        /// The part (`html`, `parameters[1]`, …).
        field: String,
        /// minijinja's description, with the line.
        message: String,
    },
    /// `render_budget_exceeded`: the instruction budget ran out, or a loop was too large.
    #[error("{field}: the template exceeded its render budget")]
    BudgetExceeded {
        /// The part.
        field: String,
    },
    /// `output_too_large`: the part (or an intermediate value) exceeded its size limit.
    #[error("{field}: rendered output exceeds {limit} bytes")]
    OutputTooLarge {
        /// The part.
        field: String,
        /// The limit that applied.
        limit: usize,
    },
    /// `recursion_limit`: macros or blocks nested too deep.
    #[error("{field}: recursion limit exceeded")]
    RecursionLimit {
        /// The part.
        field: String,
    },
    /// `render_error`: anything else minijinja refused (type errors, bad filter arguments).
    #[error("{field}: {message}")]
    Render {
        /// The part.
        field: String,
        /// minijinja's description, with the line.
        message: String,
    },
}

fn summary(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl RenderError {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidTemplate(_) => "invalid_template",
            Self::InvalidVariables => "invalid_variables",
            Self::MissingVariable { .. } | Self::Undefined { .. } => "missing_variable",
            Self::BudgetExceeded { .. } => "render_budget_exceeded",
            Self::OutputTooLarge { .. } => "output_too_large",
            Self::RecursionLimit { .. } => "recursion_limit",
            Self::Render { .. } => "render_error",
        }
    }
}

/// A rendered notification, ready for the sender or a preview. `Debug` shows sizes only: the
/// text contains the recipient's personal data.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Rendered {
    /// For SES `Content.Simple`.
    Email(RenderedEmail),
    /// For a WhatsApp text message or click-to-chat link.
    #[serde(rename = "whatsapp_text")]
    WhatsAppText {
        /// The message.
        body: String,
    },
    /// For a WhatsApp template message.
    #[serde(rename = "whatsapp_template")]
    WhatsAppTemplate(RenderedWhatsAppTemplate),
}

/// A rendered e-mail.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct RenderedEmail {
    /// Single line: CR/LF replaced by spaces.
    pub subject: String,
    /// HTML body, variables escaped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// Plain-text body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// A WhatsApp template reference with its body parameters filled in.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct RenderedWhatsAppTemplate {
    /// The template's name at Meta.
    pub name: String,
    /// Its language code.
    pub language: String,
    /// Body parameter texts, single-line (Meta rejects newlines, tabs and long space runs).
    pub parameters: Vec<String>,
}

impl fmt::Debug for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Email(email) => email.fmt(f),
            Self::WhatsAppText { body } => {
                write!(f, "WhatsAppText {{ body: <{} bytes> }}", body.len())
            }
            Self::WhatsAppTemplate(template) => template.fmt(f),
        }
    }
}

impl fmt::Debug for RenderedEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let size = |s: &Option<String>| s.as_ref().map(String::len);
        write!(
            f,
            "RenderedEmail {{ subject: <{} bytes>, html: {:?} bytes, text: {:?} bytes }}",
            self.subject.len(),
            size(&self.html),
            size(&self.text)
        )
    }
}

impl fmt::Debug for RenderedWhatsAppTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RenderedWhatsAppTemplate {{ name: {:?}, language: {:?}, parameters: <{}> }}",
            self.name,
            self.language,
            self.parameters.len()
        )
    }
}

/// Renders `content` with `variables` (a JSON object), for sending or as a preview.
///
/// Validates first (so content saved under older rules cannot bypass the sandbox), then checks
/// that every required variable is present, then renders each part with its own budget.
pub fn render(
    content: &TemplateContent,
    variables: &serde_json::Value,
) -> Result<Rendered, RenderError> {
    let supplied = variables.as_object().ok_or(RenderError::InvalidVariables)?;
    let analysis = analyse(content).map_err(RenderError::InvalidTemplate)?;
    let missing: Vec<String> = analysis
        .required
        .iter()
        .filter(|name| !supplied.contains_key(name.as_str()))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(RenderError::MissingVariable { names: missing });
    }
    let context = minijinja::Value::from_serialize(variables);
    let mut rendered = parts(content)
        .into_iter()
        .map(|part| render_part(&part, &context))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter();
    Ok(match content {
        TemplateContent::Email(email) => {
            let subject = rendered.next().unwrap_or_default();
            let html = email.html.as_ref().and_then(|_| rendered.next());
            let text = email.text.as_ref().and_then(|_| rendered.next());
            Rendered::Email(RenderedEmail {
                subject,
                html,
                text,
            })
        }
        TemplateContent::WhatsAppText(_) => Rendered::WhatsAppText {
            body: rendered.next().unwrap_or_default(),
        },
        TemplateContent::WhatsAppTemplate(reference) => {
            Rendered::WhatsAppTemplate(RenderedWhatsAppTemplate {
                name: reference.name.clone(),
                language: reference.language.clone(),
                parameters: rendered.collect(),
            })
        }
    })
}

fn render_part(part: &Part<'_>, context: &minijinja::Value) -> Result<String, RenderError> {
    let budget = Arc::new(Budget::default());
    let env = sandbox::environment(&budget);
    let name = part.template_name();
    let field = || part.field.clone();
    let template = env
        .template_from_named_str(&name, part.source)
        .map_err(|err| classify(&err, &budget, field()))?;
    let mut out = LimitedWriter::new(MAX_OUTPUT_BYTES, &budget);
    template
        .render_captured_to(context, &mut out)
        .map_err(|err| classify(&err, &budget, field()))?;
    let text = String::from_utf8(out.buf).map_err(|_| RenderError::Render {
        field: field(),
        message: "output is not valid UTF-8".to_owned(),
    })?;
    let text = match part.kind {
        PartKind::Subject => single_line(&text),
        PartKind::Parameter => text.split_whitespace().collect::<Vec<_>>().join(" "),
        PartKind::Html | PartKind::Text | PartKind::WhatsAppText => text,
    };
    let too_large = match part.kind {
        PartKind::Subject => (text.len() > MAX_SUBJECT_BYTES).then_some(MAX_SUBJECT_BYTES),
        PartKind::WhatsAppText => {
            (text.chars().count() > MAX_WHATSAPP_TEXT_CHARS).then_some(MAX_WHATSAPP_TEXT_CHARS)
        }
        _ => None,
    };
    match too_large {
        Some(limit) => Err(RenderError::OutputTooLarge {
            field: field(),
            limit,
        }),
        None => Ok(text),
    }
}

/// Header-safe subject: CR, LF and other control characters become single spaces.
fn single_line(text: &str) -> String {
    text.split(|c: char| c.is_control())
        .map(str::trim)
        .filter(|piece| !piece.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn classify(err: &minijinja::Error, budget: &Budget, field: String) -> RenderError {
    match budget.trip() {
        Trip::Output => {
            return RenderError::OutputTooLarge {
                field,
                limit: MAX_OUTPUT_BYTES,
            }
        }
        Trip::Loop => return RenderError::BudgetExceeded { field },
        Trip::None => {}
    }
    let detail = err.detail().unwrap_or_default();
    let message = match err.line() {
        Some(line) => format!("line {line}: {}", err.kind()),
        None => err.kind().to_string(),
    };
    let message = if detail.is_empty() {
        message
    } else {
        format!("{message}: {detail}")
    };
    match err.kind() {
        ErrorKind::OutOfFuel => RenderError::BudgetExceeded { field },
        ErrorKind::UndefinedError => RenderError::Undefined { field, message },
        _ if detail.contains("recursion limit") => RenderError::RecursionLimit { field },
        _ => RenderError::Render { field, message },
    }
}

/// A render failure is a 422 with the renderer's stable code.
impl From<RenderError> for crate::error::ApiError {
    fn from(err: RenderError) -> Self {
        Self::new(
            http::StatusCode::UNPROCESSABLE_ENTITY,
            err.code(),
            err.to_string(),
        )
    }
}
