//! The minijinja environment shop templates run in.
//!
//! Built from `Environment::empty()` so that everything reachable is on the allow-lists of
//! [`allowlist`](super::allowlist) or registered here:
//! no loader (no file access, no includes), no `namespace()` (mutable state that accumulates
//! across loop iterations), no `indent`/`center`/`pprint`/`format`/`string` (a width argument
//! or a stringified nested value allocates unmetered). Filters that can grow a value are
//! wrapped so their result size is checked against the inputs *before* they run. Strict
//! undefined behaviour makes a misspelt variable an error instead of an empty string.

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;

use minijinja::value::Rest;
use minijinja::{
    escape_formatter, filters, functions, AutoEscape, Environment, Error, ErrorKind, State,
    UndefinedBehavior, Value,
};

use super::allowlist::{add_plain_filters, add_tests};
use super::limits::{
    FUEL, MAX_BATCH, MAX_EMITTED_BYTES, MAX_RANGE, MAX_VALUE_BYTES, RECURSION_LIMIT,
};

/// Which of our own limits stopped a render (minijinja only sees an opaque error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Trip {
    None,
    Output,
    Loop,
}

/// Per-render accounting shared by the formatter, the filters and the output writer.
#[derive(Debug, Default)]
pub(super) struct Budget {
    emitted: AtomicUsize,
    trip: AtomicU8,
}

impl Budget {
    pub(super) fn trip(&self) -> Trip {
        match self.trip.load(Ordering::Relaxed) {
            1 => Trip::Output,
            2 => Trip::Loop,
            _ => Trip::None,
        }
    }

    fn fail(&self, trip: Trip, message: &'static str) -> Error {
        let code = match trip {
            Trip::None => 0,
            Trip::Output => 1,
            Trip::Loop => 2,
        };
        self.trip.store(code, Ordering::Relaxed);
        Error::new(ErrorKind::InvalidOperation, message)
    }

    /// Fails unless `value` displays in at most `limit` bytes, without materialising it.
    fn check_size(&self, value: &Value, limit: usize) -> Result<usize, Error> {
        display_len(value, limit).ok_or_else(|| self.fail(Trip::Output, "value too large"))
    }
}

/// The display length of `value` if it is at most `limit`; stops writing past the limit.
fn display_len(value: &Value, limit: usize) -> Option<usize> {
    if let Some(s) = value.as_str() {
        return (s.len() <= limit).then_some(s.len());
    }
    struct Counter {
        len: usize,
        limit: usize,
    }
    impl fmt::Write for Counter {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            self.len += s.len();
            if self.len > self.limit {
                Err(fmt::Error)
            } else {
                Ok(())
            }
        }
    }
    let mut counter = Counter { len: 0, limit };
    fmt::write(&mut counter, format_args!("{value}"))
        .ok()
        .map(|()| counter.len)
}

/// The sandboxed environment for one render of one part.
pub(super) fn environment<'s>(budget: &Arc<Budget>) -> Environment<'s> {
    let mut env = Environment::empty();
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(RECURSION_LIMIT);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    let formatter_budget = Arc::clone(budget);
    env.set_formatter(move |out, state, value| {
        let used = formatter_budget.emitted.load(Ordering::Relaxed);
        let len = formatter_budget.check_size(value, MAX_EMITTED_BYTES.saturating_sub(used))?;
        formatter_budget
            .emitted
            .store(used.saturating_add(len), Ordering::Relaxed);
        escape_formatter(out, state, value)
    });
    add_plain_filters(&mut env);
    add_guarded_filters(&mut env, budget);
    add_tests(&mut env);
    let range_budget = Arc::clone(budget);
    env.add_function(
        "range",
        move |lower: isize, upper: Option<isize>, step: Option<isize>| {
            if range_len(lower, upper, step) > MAX_RANGE as i128 {
                return Err(range_budget.fail(Trip::Loop, "range() is too large"));
            }
            functions::range(lower, upper, step)
        },
    );
    env
}

/// Number of items `range(lower, upper, step)` yields (0 for a zero step, which minijinja
/// rejects itself).
fn range_len(lower: isize, upper: Option<isize>, step: Option<isize>) -> i128 {
    let (start, end) = upper.map_or((0, lower), |upper| (lower, upper));
    let span = end as i128 - start as i128;
    let step = step.unwrap_or(1) as i128;
    if step == 0 || span.signum() != step.signum() {
        return 0;
    }
    (span.abs() + step.abs() - 1) / step.abs()
}

/// How a wrapped filter's result size is bounded from its arguments.
#[derive(Clone, Copy)]
enum Guard {
    /// Output at most `n` times the input's display size (escaping, case mapping, encoding).
    Growth(usize),
    /// `join`: the items plus one separator per item.
    Join,
    /// `replace`: exact size computed from the occurrences.
    Replace,
    /// `batch`/`slice`: the count preallocates.
    Count,
}

fn add_guarded_filters(env: &mut Environment<'_>, budget: &Arc<Budget>) {
    let guarded: [(&'static str, Value, Guard); 13] = [
        ("e", Value::from_function(filters::escape), Guard::Growth(6)),
        (
            "escape",
            Value::from_function(filters::escape),
            Guard::Growth(6),
        ),
        (
            "lower",
            Value::from_function(filters::lower),
            Guard::Growth(3),
        ),
        (
            "upper",
            Value::from_function(filters::upper),
            Guard::Growth(3),
        ),
        (
            "title",
            Value::from_function(filters::title),
            Guard::Growth(3),
        ),
        (
            "capitalize",
            Value::from_function(filters::capitalize),
            Guard::Growth(3),
        ),
        (
            "urlencode",
            Value::from_function(filters::urlencode),
            Guard::Growth(3),
        ),
        (
            "trim",
            Value::from_function(filters::trim),
            Guard::Growth(1),
        ),
        (
            "split",
            Value::from_function(filters::split),
            Guard::Growth(1),
        ),
        (
            "lines",
            Value::from_function(filters::lines),
            Guard::Growth(1),
        ),
        ("join", Value::from_function(filters::join), Guard::Join),
        (
            "replace",
            Value::from_function(filters::replace),
            Guard::Replace,
        ),
        ("batch", Value::from_function(filters::batch), Guard::Count),
    ];
    let slice = ("slice", Value::from_function(filters::slice), Guard::Count);
    for (name, inner, guard) in guarded.into_iter().chain([slice]) {
        let budget = Arc::clone(budget);
        env.add_filter(name, move |state: &State, args: Rest<Value>| {
            check_guard(&budget, guard, &args)?;
            inner.call(state, &args)
        });
    }
}

fn check_guard(budget: &Budget, guard: Guard, args: &[Value]) -> Result<(), Error> {
    let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::UNDEFINED);
    match guard {
        Guard::Growth(factor) => {
            budget.check_size(&arg(0), MAX_VALUE_BYTES / factor)?;
        }
        Guard::Join => {
            let items = arg(0);
            let separator = arg(1).as_str().map_or(0, str::len);
            let count = items.len().unwrap_or(0);
            let limit = MAX_VALUE_BYTES.saturating_sub(separator.saturating_mul(count));
            budget.check_size(&items, limit)?;
        }
        Guard::Replace => {
            let (value, from, to) = (arg(0), arg(1), arg(2));
            let (Some(s), Some(from), Some(to)) = (value.as_str(), from.as_str(), to.as_str())
            else {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    "replace expects strings",
                ));
            };
            let occurrences = if from.is_empty() {
                s.chars().count() + 1
            } else {
                s.matches(from).count()
            };
            let size = occurrences.saturating_mul(to.len()).saturating_add(s.len());
            if size > MAX_VALUE_BYTES {
                return Err(budget.fail(Trip::Output, "replace result too large"));
            }
        }
        Guard::Count => {
            if arg(1).as_usize().is_some_and(|count| count > MAX_BATCH) {
                return Err(budget.fail(Trip::Loop, "batch/slice count too large"));
            }
        }
    }
    Ok(())
}

/// The render target: refuses to grow past `limit`, so runaway output stops at the limit.
pub(super) struct LimitedWriter<'b> {
    pub(super) buf: Vec<u8>,
    limit: usize,
    budget: &'b Budget,
}

impl<'b> LimitedWriter<'b> {
    pub(super) fn new(limit: usize, budget: &'b Budget) -> Self {
        Self {
            buf: Vec::new(),
            limit,
            budget,
        }
    }
}

impl io::Write for LimitedWriter<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len().saturating_add(data.len()) > self.limit {
            let _ = self.budget.fail(Trip::Output, "output too large");
            return Err(io::Error::other("output too large"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
