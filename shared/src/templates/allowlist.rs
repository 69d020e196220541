//! What shop templates may call: allow-lists of filters and tests, registered on an empty
//! environment so nothing else is reachable. Filters that can grow a value are registered
//! separately, wrapped with size checks, by [`sandbox`](super::sandbox).

use minijinja::{filters, tests, Environment};

/// Filters a template may use (checked at save time by the scanner, enforced by registration).
pub(super) const FILTERS: &[&str] = &[
    "abs",
    "batch",
    "bool",
    "capitalize",
    "count",
    "d",
    "default",
    "dictsort",
    "e",
    "escape",
    "first",
    "float",
    "groupby",
    "int",
    "items",
    "join",
    "last",
    "length",
    "lines",
    "list",
    "lower",
    "map",
    "max",
    "min",
    "reject",
    "rejectattr",
    "replace",
    "reverse",
    "round",
    "select",
    "selectattr",
    "slice",
    "sort",
    "split",
    "sum",
    "title",
    "trim",
    "unique",
    "upper",
    "urlencode",
    "zip",
];

/// Tests a template may use.
pub(super) const TESTS: &[&str] = &[
    "boolean",
    "defined",
    "divisibleby",
    "endingwith",
    "eq",
    "equalto",
    "escaped",
    "even",
    "false",
    "float",
    "ge",
    "greaterthan",
    "gt",
    "in",
    "int",
    "integer",
    "iterable",
    "le",
    "lessthan",
    "lower",
    "lt",
    "mapping",
    "ne",
    "none",
    "number",
    "odd",
    "safe",
    "sameas",
    "sequence",
    "startingwith",
    "string",
    "true",
    "undefined",
    "upper",
];

/// Names the environment provides, which `undeclared_variables` reports like variables.
pub(super) const GLOBALS: &[&str] = &["range", "loop", "caller", "varargs", "kwargs"];

/// Registers the filters that cannot grow a value beyond its input.
pub(super) fn add_plain_filters(env: &mut Environment<'_>) {
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

/// Registers the allowed tests (all cheap predicates).
pub(super) fn add_tests(env: &mut Environment<'_>) {
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
