//! A lexical pass over a template source, before minijinja sees it.
//!
//! minijinja meters instructions but not the size of the values one instruction makes, so
//! constructs that build big strings in a single step are refused here, at save time:
//!
//! * `~`, `+` and `*`: `"x" * 10**8` allocates 100 MB in one instruction (minijinja's own cap),
//!   and `{% set b = a ~ a ~ a ~ a %}{% set c = b ~ b ~ b ~ b %}…` grows exponentially with
//!   linear source. Types are not known statically, so the operators go entirely; values arrive
//!   pre-formatted (money included), and `{{ a }} {{ b }}` needs no concatenation.
//! * `include`, `import`, `from`, `extends`: there is no loader, so they could only fail (or
//!   reach a sibling part); saying so at save time is clearer.
//! * `autoescape`: HTML escaping of variables in the html part is not negotiable.
//! * filters and tests outside the sandbox's allow-list, so a typo fails at save time.
//! * more than [`MAX_CAPTURED_TEXT_BYTES`] of literal text inside capturing blocks.
//!
//! It also finds variables used only behind `is defined` or `|default`, which the render
//! does not require up front. The tokenizer is deliberately simple (it has to agree with
//! minijinja only on valid templates; anything it misreads fails minijinja's compile anyway).

use std::collections::BTreeSet;

use super::allowlist::{FILTERS, TESTS};
use super::limits::MAX_CAPTURED_TEXT_BYTES;

/// One problem found by [`scan`], with a stable code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Problem {
    pub code: &'static str,
    pub message: String,
    pub line: usize,
}

/// What [`scan`] learnt about a source.
#[derive(Debug, Default)]
pub(super) struct Scan {
    pub problems: Vec<Problem>,
    /// Top-level names only used in a way that tolerates their absence.
    pub optional: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Op(&'static str),
    Literal,
}

/// At most this many problems per part: enough to fix a template, bounded for hostile ones.
const MAX_PROBLEMS: usize = 20;

const OPERATORS: [&str; 24] = [
    "**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "|", ".", ",", ":", "(", ")",
    "[", "]", "{", "}", "=", "<",
];

/// Scans one part's source.
pub(super) fn scan(source: &str) -> Scan {
    let mut scan = Scan::default();
    let lines = Lines::new(source);
    let mut captures = 0usize;
    let mut captured_text = 0usize;
    let mut pos = 0;
    while pos < source.len() {
        let next = find_open(source, pos);
        if captures > 0 {
            captured_text += next.unwrap_or(source.len()) - pos;
        }
        let Some(start) = next else { break };
        let rest = source.get(start..).unwrap_or_default();
        if rest.starts_with("{#") {
            pos = find_from(source, start + 2, "#}").map_or(source.len(), |end| end + 2);
            continue;
        }
        let is_tag = rest.starts_with("{%");
        let closing = if is_tag { "%}" } else { "}}" };
        let mut body_start = start + 2;
        if source
            .get(body_start..)
            .is_some_and(|r| r.starts_with(['-', '+']))
        {
            body_start += 1;
        }
        let (tokens, end) = tokenize(source, body_start, closing);
        pos = end;
        let line = lines.of(start);
        let tag = match tokens.first() {
            Some((Tok::Ident(name), _)) if is_tag => name.as_str(),
            _ => "",
        };
        match tag {
            "raw" => {
                let (text_end, after) = find_endraw(source, pos);
                if captures > 0 {
                    captured_text += text_end - pos;
                }
                pos = after;
            }
            "include" | "import" | "from" | "extends" => scan.push(
                "forbidden_tag",
                format!("`{tag}` is not available: templates cannot load other templates"),
                line,
            ),
            "autoescape" => scan.push(
                "forbidden_tag",
                "`autoescape` is not available: variables are always escaped in html".to_owned(),
                line,
            ),
            "macro" | "call" => captures += 1,
            "filter" => {
                captures += 1;
                if let Some((Tok::Ident(filter), _)) = tokens.get(1) {
                    check_filter(&mut scan, filter, line);
                }
            }
            // Only the block form (`{% set x %}…{% endset %}`) captures.
            "set" if !tokens.iter().any(|(t, _)| *t == Tok::Op("=")) => captures += 1,
            "endmacro" | "endcall" | "endfilter" | "endset" => {
                captures = captures.saturating_sub(1);
            }
            _ => {}
        }
        check_tokens(&mut scan, &lines, &tokens);
    }
    if captured_text > MAX_CAPTURED_TEXT_BYTES {
        scan.push(
            "too_large",
            format!(
                "text inside macro, call, filter and set blocks is {captured_text} bytes; \
                 the limit is {MAX_CAPTURED_TEXT_BYTES}"
            ),
            1,
        );
    }
    scan
}

impl Scan {
    fn push(&mut self, code: &'static str, message: String, line: usize) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(Problem {
                code,
                message,
                line,
            });
        }
    }
}

fn check_tokens(scan: &mut Scan, lines: &Lines, tokens: &[(Tok, usize)]) {
    let tok = |i: usize| tokens.get(i).map(|(t, _)| t);
    let ident = |i: usize| match tok(i) {
        Some(Tok::Ident(name)) => Some(name.as_str()),
        _ => None,
    };
    for (i, (token, offset)) in tokens.iter().enumerate() {
        let line = lines.of(*offset);
        match token {
            Tok::Op(op @ ("+" | "~" | "*")) => scan.push(
                "forbidden_operator",
                format!("the `{op}` operator is not available in templates"),
                line,
            ),
            Tok::Op("|") => {
                if let Some(name) = ident(i + 1) {
                    check_filter(scan, name, line);
                }
            }
            Tok::Ident(is) if is == "is" => {
                let name = match ident(i + 1) {
                    Some("not") => ident(i + 2),
                    other => other,
                };
                if let Some(name) = name {
                    if !TESTS.contains(&name) {
                        scan.push("unknown_test", format!("unknown test `{name}`"), line);
                    }
                }
            }
            Tok::Ident(name) if i == 0 || tok(i - 1) != Some(&Tok::Op(".")) => {
                let guarded = match (tok(i + 1), ident(i + 2), ident(i + 3)) {
                    (Some(Tok::Op("|")), Some("default" | "d"), _) => true,
                    (Some(Tok::Ident(is)), Some("defined" | "undefined"), _) => is == "is",
                    (Some(Tok::Ident(is)), Some("not"), Some("defined" | "undefined")) => {
                        is == "is"
                    }
                    _ => false,
                };
                if guarded {
                    scan.optional.insert(name.clone());
                }
            }
            _ => {}
        }
    }
}

fn check_filter(scan: &mut Scan, name: &str, line: usize) {
    if !FILTERS.contains(&name) {
        scan.push("unknown_filter", format!("unknown filter `{name}`"), line);
    }
}

/// Tokens of one `{{ … }}` or `{% … %}` body starting at `from`, and the offset after its
/// closing delimiter (the end of the source if it is unterminated).
fn tokenize(source: &str, from: usize, closing: &str) -> (Vec<(Tok, usize)>, usize) {
    let bytes = source.as_bytes();
    let mut tokens = Vec::new();
    let mut depth = 0usize;
    let mut i = from;
    while i < bytes.len() {
        // An escape inside a string literal may have stepped into a multi-byte character.
        let Some(rest) = source.get(i..) else {
            i += 1;
            continue;
        };
        let c = bytes[i];
        if depth == 0 {
            if rest.starts_with(closing) {
                return (tokens, i + 2);
            }
            if matches!(c, b'-' | b'+') && rest.get(1..).is_some_and(|r| r.starts_with(closing)) {
                return (tokens, i + 3);
            }
        }
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'"' || c == b'\'' {
            tokens.push((Tok::Literal, i));
            i = skip_string(bytes, i);
        } else if c.is_ascii_digit() {
            tokens.push((Tok::Literal, i));
            i += rest
                .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_' || ch == '.'))
                .unwrap_or(rest.len());
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let len = rest
                .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_'))
                .unwrap_or(rest.len());
            tokens.push((Tok::Ident(rest[..len].to_owned()), i));
            i += len;
        } else if let Some(op) = OPERATORS.iter().find(|op| rest.starts_with(**op)) {
            match *op {
                "(" | "[" | "{" => depth += 1,
                ")" | "]" | "}" => depth = depth.saturating_sub(1),
                _ => {}
            }
            tokens.push((Tok::Op(op), i));
            i += op.len();
        } else {
            // `>`, `!` and non-ASCII: irrelevant here; step over one whole character.
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    (tokens, bytes.len())
}

fn skip_string(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b if b == quote => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

fn find_open(source: &str, from: usize) -> Option<usize> {
    let bytes = source.as_bytes();
    (from..bytes.len().saturating_sub(1))
        .find(|&i| bytes[i] == b'{' && matches!(bytes[i + 1], b'{' | b'%' | b'#'))
}

fn find_from(source: &str, from: usize, needle: &str) -> Option<usize> {
    source.get(from..)?.find(needle).map(|i| i + from)
}

/// (start of the `{% endraw %}` tag, offset after it), or the end of the source.
fn find_endraw(source: &str, from: usize) -> (usize, usize) {
    let mut at = from;
    while let Some(open) = find_from(source, at, "{%") {
        let tag = source.get(open + 2..).unwrap_or_default();
        let tag = tag.strip_prefix(['-', '+']).unwrap_or(tag).trim_start();
        if let Some(tail) = tag.strip_prefix("endraw") {
            let tail = tail.trim_start();
            let tail = tail.strip_prefix(['-', '+']).unwrap_or(tail);
            if tail.starts_with("%}") {
                return (open, source.len() - tail.len() + 2);
            }
        }
        at = open + 2;
    }
    (source.len(), source.len())
}

/// Byte offsets of line starts, for 1-based line numbers in messages.
struct Lines(Vec<usize>);

impl Lines {
    fn new(source: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(source.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self(starts)
    }

    fn of(&self, offset: usize) -> usize {
        self.0.partition_point(|&start| start <= offset).max(1)
    }
}
