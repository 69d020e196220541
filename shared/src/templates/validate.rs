//! Save-time validation: everything that can be known without variables.

use std::collections::BTreeSet;
use std::sync::{Arc, LazyLock};

use regex::Regex;

use super::allowlist::GLOBALS;
use super::limits::{MAX_SOURCE_BYTES, MAX_WHATSAPP_PARAMETERS};
use super::sandbox::{self, Budget};
use super::scan::scan;
use super::TemplateContent;
use crate::error::FieldError;

/// Meta's template names: lower-case letters, digits and underscores.
static TEMPLATE_NAME: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9_]{1,512}$").ok());
/// Meta's language codes: `es`, `es_AR`, `pt_BR`, `fil`.
static LANGUAGE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^[a-z]{2,3}(_[A-Z]{2})?$").ok());

/// How a part is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PartKind {
    Subject,
    Html,
    Text,
    WhatsAppText,
    Parameter,
}

/// One template source of a content, with the API field it came from.
#[derive(Debug)]
pub(super) struct Part<'a> {
    pub field: String,
    pub source: &'a str,
    pub kind: PartKind,
}

impl Part<'_> {
    /// The name minijinja sees; its extension selects auto-escaping (only `.html` escapes).
    pub(super) fn template_name(&self) -> String {
        let extension = if self.kind == PartKind::Html {
            "html"
        } else {
            "txt"
        };
        format!("{}.{extension}", self.field)
    }
}

/// The parts of a content, in field order; absent optional parts are left out.
pub(super) fn parts(content: &TemplateContent) -> Vec<Part<'_>> {
    fn part<'a>(field: &str, source: &'a str, kind: PartKind) -> Part<'a> {
        Part {
            field: field.to_owned(),
            source,
            kind,
        }
    }
    match content {
        TemplateContent::Email(email) => {
            let mut parts = vec![part("subject", &email.subject, PartKind::Subject)];
            if let Some(html) = &email.html {
                parts.push(part("html", html, PartKind::Html));
            }
            if let Some(text) = &email.text {
                parts.push(part("text", text, PartKind::Text));
            }
            parts
        }
        TemplateContent::WhatsAppText(text) => {
            vec![part("body", &text.body, PartKind::WhatsAppText)]
        }
        TemplateContent::WhatsAppTemplate(reference) => reference
            .parameters
            .iter()
            .enumerate()
            .map(|(i, source)| part(&format!("parameters[{i}]"), source, PartKind::Parameter))
            .collect(),
    }
}

/// What validation learnt about a valid content.
#[derive(Debug, Default)]
pub(super) struct Analysis {
    /// Every top-level variable the template reads.
    pub variables: BTreeSet<String>,
    /// The subset not guarded by `is defined` / `|default` anywhere: these must be supplied.
    pub required: BTreeSet<String>,
}

/// Checks a template when it is saved and returns the top-level variables it reads, sorted.
///
/// Errors name the field (`subject`, `html`, `text`, `body`, `name`, `language`,
/// `parameters[2]`) with codes `required`, `too_large`, `too_many`, `invalid_format`,
/// `syntax_error` (message starts with `line N:`), `forbidden_operator`, `forbidden_tag`,
/// `unknown_filter` and `unknown_test`.
pub fn validate(content: &TemplateContent) -> Result<BTreeSet<String>, Vec<FieldError>> {
    analyse(content).map(|analysis| analysis.variables)
}

/// [`validate`], keeping which variables are optional.
pub(super) fn analyse(content: &TemplateContent) -> Result<Analysis, Vec<FieldError>> {
    let mut errors = structural_errors(content);
    let mut analysis = Analysis::default();
    let mut optional = BTreeSet::new();
    let budget = Arc::new(Budget::default());
    let env = sandbox::environment(&budget);
    for part in parts(content) {
        if part.source.len() > MAX_SOURCE_BYTES {
            errors.push(FieldError::new(
                &part.field,
                "too_large",
                format!("must be at most {MAX_SOURCE_BYTES} bytes"),
            ));
            continue;
        }
        let scanned = scan(part.source);
        for problem in &scanned.problems {
            let message = format!("line {}: {}", problem.line, problem.message);
            errors.push(FieldError::new(&part.field, problem.code, message));
        }
        optional.extend(scanned.optional);
        let name = part.template_name();
        match env.template_from_named_str(&name, part.source) {
            Ok(template) => analysis.variables.extend(
                template
                    .undeclared_variables(false)
                    .into_iter()
                    .filter(|v| !GLOBALS.contains(&v.as_str())),
            ),
            Err(err) => errors.push(FieldError::new(
                &part.field,
                "syntax_error",
                format!(
                    "line {}: {}",
                    err.line().unwrap_or(1),
                    err.detail().unwrap_or("syntax error")
                ),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    analysis.required = analysis.variables.difference(&optional).cloned().collect();
    Ok(analysis)
}

/// Requirements on the content's shape, independent of template syntax.
fn structural_errors(content: &TemplateContent) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let blank = |s: &str| s.trim().is_empty();
    match content {
        TemplateContent::Email(email) => {
            if blank(&email.subject) {
                errors.push(FieldError::new("subject", "required", "is required"));
            }
            let html_blank = email.html.as_deref().is_none_or(blank);
            if html_blank && email.text.as_deref().is_none_or(blank) {
                errors.push(FieldError::new(
                    "html",
                    "required",
                    "html or text is required",
                ));
            }
        }
        TemplateContent::WhatsAppText(text) => {
            if blank(&text.body) {
                errors.push(FieldError::new("body", "required", "is required"));
            }
        }
        TemplateContent::WhatsAppTemplate(reference) => {
            check_format(&mut errors, "name", &reference.name, &TEMPLATE_NAME);
            check_format(&mut errors, "language", &reference.language, &LANGUAGE);
            if reference.parameters.len() > MAX_WHATSAPP_PARAMETERS {
                errors.push(FieldError::new(
                    "parameters",
                    "too_many",
                    format!("at most {MAX_WHATSAPP_PARAMETERS} parameters"),
                ));
            }
            for (i, source) in reference.parameters.iter().enumerate() {
                if blank(source) {
                    errors.push(FieldError::new(
                        format!("parameters[{i}]"),
                        "required",
                        "WhatsApp rejects empty parameters",
                    ));
                }
            }
        }
    }
    errors
}

fn check_format(
    errors: &mut Vec<FieldError>,
    field: &str,
    value: &str,
    pattern: &LazyLock<Option<Regex>>,
) {
    if value.is_empty() {
        errors.push(FieldError::new(field, "required", "is required"));
    } else if !pattern.as_ref().is_some_and(|re| re.is_match(value)) {
        errors.push(FieldError::new(
            field,
            "invalid_format",
            "does not match Meta's format (e.g. name `order_shipped`, language `es_AR`)",
        ));
    }
}
