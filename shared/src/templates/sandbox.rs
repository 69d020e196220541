//! The minijinja environment shop templates run in.
//!
//! Built from `Environment::empty()` so that everything reachable is on the allow-lists below:
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
    escape_formatter, filters, functions, tests, AutoEscape, Environment, Error, ErrorKind,
    State, UndefinedBehavior, Value,
};

use super::limits::{
    FUEL, MAX_BATCH, MAX_EMITTED_BYTES, MAX_RANGE, MAX_VALUE_BYTES, RECURSION_LIMIT,
};

/// Filters a template may use (checked at save time by the scanner, enforced by registration).
pub(super) const FILTERS: &[&str] = &[
    "abs", "batch", "bool", "capitalize", "count", "d", "default", "dictsort", "e", "escape",
    "first", "float", "groupby", "int", "items", "join", "last", "length", "lines", "list",
    "lower", "map", "max", "min", "reject", "rejectattr", "replace", "reverse", "round",
    "select", "selectattr", "slice", "sort", "split", "sum", "title", "trim", "unique", "upper",
    "urlencode", "zip",
];

/// Tests a template may use.
pub(super) const TESTS: &[&str] = &[
    "boolean", "defined", "divisibleby", "endingwith", "eq", "equalto", "escaped", "even",
    "false", "float", "ge", "greaterthan", "gt", "in", "int", "integer", "iterable", "le",
    "lessthan", "lower", "lt", "mapping", "ne", "none", "number", "odd", "safe", "sameas",
    "sequence", "startingwith", "string", "true", "undefined", "upper",
];

/// Names the environment provides, which `undeclared_variables` reports like variables.
pub(super) const GLOBALS: &[&str] = &["range", "loop", "caller", "varargs", "kwargs"];

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

fn add_plain_filters(env: &mut Environment<'_>) {
    env.add_filter("abs", filters::abs);
    env.add_filter("bool", filters::bool);
    env.add_filter("count", filters::length);
    env.add_filter("d", filters::default);
    env.add_filter("default", filters::default);
    env.add_filter("dictsort", filters::dictsort);
    env.add_filter("first", filters::first);
    env.add_filter("float", filters::float);
    env.add_filter("groupby", filters::groupby);
    env.add_filter("int", filters::int);
    env.add_filter("items", filters::items);
    env.add_filter("last", filters::last);
    env.add_filter("length", filters::length);
    env.add_filter("list", filters::list);
    env.add_filter("map", filters::map);
    env.add_filter("max", filters::max);
    env.add_filter("min", filters::min);
    env.add_filter("reject", filters::reject);
    env.add_filter("rejectattr", filters::rejectattr);
    env.add_filter("reverse", filters::reverse);
    env.add_filter("round", filters::round);
    env.add_filter("select", filters::select);
    env.add_filter("selectattr", filters::selectattr);
    env.add_filter("sort", filters::sort);
    env.add_filter("sum", filters::sum);
    env.add_filter("unique", filters::unique);
    env.add_filter("zip", filters::zip);
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
        ("escape", Value::from_function(filters::escape), Guard::Growth(6)),
        ("lower", Value::from_function(filters::lower), Guard::Growth(3)),
        ("upper", Value::from_function(filters::upper), Guard::Growth(3)),
        ("title", Value::from_function(filters::title), Guard::Growth(3)),
        ("capitalize", Value::from_function(filters::capitalize), Guard::Growth(3)),
        ("urlencode", Value::from_function(filters::urlencode), Guard::Growth(3)),
        ("trim", Value::from_function(filters::trim), Guard::Growth(1)),
        ("split", Value::from_function(filters::split), Guard::Growth(1)),
        ("lines", Value::from_function(filters::lines), Guard::Growth(1)),
        ("join", Value::from_function(filters::join), Guard::Join),
        ("replace", Value::from_function(filters::replace), Guard::Replace),
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
            let size = occurrences
                .saturating_mul(to.len())
                .saturating_add(s.len());
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

fn add_tests(env: &mut Environment<'_>) {
    env.add_test("boolean", tests::is_boolean);
    env.add_test("defined", tests::is_defined);
    env.add_test("divisibleby", tests::is_divisibleby);
    env.add_test("endingwith", tests::is_endingwith);
    for name in ["eq", "equalto"] {
        env.add_test(name, tests::is_eq);
    }
    env.add_test("escaped", tests::is_safe);
    env.add_test("even", tests::is_even);
    env.add_test("false", tests::is_false);
    env.add_test("float", tests::is_float);
    env.add_test("ge", tests::is_ge);
    for name in ["gt", "greaterthan"] {
        env.add_test(name, tests::is_gt);
    }
    env.add_test("in", tests::is_in);
    for name in ["int", "integer"] {
        env.add_test(name, tests::is_integer);
    }
    env.add_test("iterable", tests::is_iterable);
    env.add_test("le", tests::is_le);
    for name in ["lt", "lessthan"] {
        env.add_test(name, tests::is_lt);
    }
    env.add_test("lower", tests::is_lower);
    env.add_test("mapping", tests::is_mapping);
    env.add_test("ne", tests::is_ne);
    env.add_test("none", tests::is_none);
    env.add_test("number", tests::is_number);
    env.add_test("odd", tests::is_odd);
    env.add_test("safe", tests::is_safe);
    env.add_test("sameas", tests::is_sameas);
    env.add_test("sequence", tests::is_sequence);
    env.add_test("startingwith", tests::is_startingwith);
    env.add_test("string", tests::is_string);
    env.add_test("true", tests::is_true);
    env.add_test("undefined", tests::is_undefined);
    env.add_test("upper", tests::is_upper);
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
