//! Every Lambda function and what it runs: the one place that says which handler a function
//! serves. Each `functions/<name>/src/main.rs` serves its entry ([`named`], resolved at compile
//! time from the binary's name); the local stack serves the same entries in-process ([`lookup`]).
//! A black-box test checks this table against `functions/` and `template.yaml`.

use crate::http::HttpHandler;
use crate::runtime::{self, ScheduleHandler};
use crate::sqs::SqsHandler;
use crate::{admin, health, notifications, payments, tenancy, webhooks};
use futures::future::LocalBoxFuture;
use futures::FutureExt;

/// What a function runs.
#[derive(Clone, Copy)]
pub enum Entry {
    /// An API Gateway HTTP API function.
    Http {
        /// Route keys the handler serves; `template.yaml` must declare exactly these for it.
        routes: &'static [&'static str],
        handler: HttpHandler,
    },
    /// An SQS consumer (partial batch failures).
    Sqs(SqsHandler),
    /// A function run by an EventBridge schedule.
    Schedule(ScheduleHandler),
}

/// One deployed function.
#[derive(Clone, Copy)]
pub struct Function {
    /// `Metadata.BuildProperties.Binary` in `template.yaml`: the cargo binary `functions/<name>`.
    pub name: &'static str,
    pub entry: Entry,
}

impl Function {
    const fn http(
        name: &'static str,
        routes: &'static [&'static str],
        handler: HttpHandler,
    ) -> Self {
        let entry = Entry::Http { routes, handler };
        Function { name, entry }
    }

    const fn sqs(name: &'static str, handler: SqsHandler) -> Self {
        let entry = Entry::Sqs(handler);
        Function { name, entry }
    }

    const fn schedule(name: &'static str, handler: ScheduleHandler) -> Self {
        let entry = Entry::Schedule(handler);
        Function { name, entry }
    }
}

/// Every function, in the order `template.yaml` declares them.
pub const FUNCTIONS: &[Function] = &[
    Function::http("health", health::routes::ROUTES, health::routes::handler),
    Function::http("project", tenancy::routes::ROUTES, tenancy::routes::handler),
    Function::http("admin", admin::routes::ROUTES, admin::routes::handler),
    Function::http(
        "notifications",
        notifications::routes::ROUTES,
        notifications::routes::handler,
    ),
    Function::sqs("sender", notifications::sender::handler),
    Function::http(
        "provider-feedback",
        notifications::feedback::ROUTES,
        notifications::feedback::handler,
    ),
    Function::sqs("email-feedback", notifications::ses_events::handler),
    Function::http(
        "webhooks",
        webhooks::routes::ROUTES,
        webhooks::routes::handler,
    ),
    Function::sqs("dispatcher", webhooks::dispatch::handler),
    Function::schedule("retry-sweeper", webhooks::sweep::handler),
    Function::http(
        "payments",
        payments::routes::ROUTES,
        payments::routes::handler,
    ),
    Function::http(
        "mp-intake",
        payments::intake::ROUTES,
        payments::intake::handler,
    ),
    Function::sqs("payment-sync", payments::sync::handler),
    Function::schedule("reconciler", payments::reconcile::handler),
];

/// The entry of the function called `name`, if there is one.
pub fn lookup(name: &str) -> Option<Entry> {
    FUNCTIONS.iter().find(|f| f.name == name).map(|f| f.entry)
}

/// The entry of the function called `name`, for a `const`:
/// `const ENTRY: Entry = named(env!("CARGO_BIN_NAME"));` fails the build of a binary this table
/// does not list, and the binary references only its own handler, not the whole table.
// In a `const` the panic is a compile error; it cannot happen at run time.
#[allow(clippy::panic)]
pub const fn named(name: &str) -> Entry {
    let mut i = 0;
    while i < FUNCTIONS.len() {
        if same(FUNCTIONS[i].name.as_bytes(), name.as_bytes()) {
            return FUNCTIONS[i].entry;
        }
        i += 1;
    }
    panic!("the binary is not listed in mostrador::functions::FUNCTIONS")
}

const fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

impl Entry {
    /// Serves this entry as the Lambda function of this process (what `main` does).
    // Not `async`: inlined into `main` on a constant entry, the `match` folds away and a binary
    // links only the runtime it uses (an HTTP function no SQS plumbing, and the reverse).
    #[inline]
    pub fn serve(self) -> LocalBoxFuture<'static, Result<(), runtime::Error>> {
        match self {
            Entry::Http { handler, .. } => runtime::run_http(handler).boxed_local(),
            Entry::Sqs(handler) => runtime::run_sqs(handler).boxed_local(),
            Entry::Schedule(handler) => runtime::run_schedule(handler).boxed_local(),
        }
    }
}

/// The route keys a handler's `match req.route_key.as_str()` dispatches, read from the source of
/// its module: the string-literal arms (`"GET /v1/…" =>`), sorted.
#[cfg(test)]
pub(crate) fn dispatched_routes(source: &str) -> Vec<&str> {
    const METHODS: &[&str] = &[
        "GET ", "POST ", "PUT ", "PATCH ", "DELETE ", "HEAD ", "OPTIONS ",
    ];
    let mut routes: Vec<&str> = source
        .lines()
        .filter_map(|line| line.trim_start().split_once(" =>").map(|(p, _)| p))
        .flat_map(|pattern| pattern.split('|'))
        .filter_map(|alt| alt.trim().strip_prefix('"')?.strip_suffix('"'))
        .filter(|literal| METHODS.iter().any(|m| literal.starts_with(m)))
        .collect();
    routes.sort_unstable();
    routes
}

/// `routes` (a module's `ROUTES`) are exactly the arms its `match` dispatches, each once: every
/// listed route reaches its handler instead of the `route_not_found` fallback, and no arm serves
/// a route `template.yaml` does not send. `$default` (API Gateway's catch-all) is the `match`'s
/// `_` arm, so it has no literal arm.
#[cfg(test)]
pub(crate) fn assert_routes_dispatched(routes: &[&str], source: &str) {
    let mut listed: Vec<&str> = routes
        .iter()
        .copied()
        .filter(|r| *r != "$default")
        .collect();
    listed.sort_unstable();
    assert_eq!(
        listed,
        dispatched_routes(source),
        "ROUTES vs the `match` arms"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_resolve_to_their_entry() {
        for (i, f) in FUNCTIONS.iter().enumerate() {
            assert!(
                FUNCTIONS[..i].iter().all(|g| g.name != f.name),
                "{} twice",
                f.name
            );
            assert!(lookup(f.name).is_some());
            let same_kind = matches!(
                (named(f.name), f.entry),
                (Entry::Http { .. }, Entry::Http { .. })
                    | (Entry::Sqs(_), Entry::Sqs(_))
                    | (Entry::Schedule(_), Entry::Schedule(_))
            );
            assert!(same_kind, "{}", f.name);
        }
        assert!(lookup("no-such-function").is_none());
    }

    /// The source of each HTTP function's dispatching module (mp-intake has no `match`: it
    /// serves its one route and answers `route_not_found` to anything else).
    const DISPATCHERS: &[(&str, &str)] = &[
        ("health", include_str!("health/routes.rs")),
        ("project", include_str!("tenancy/routes.rs")),
        ("admin", include_str!("admin/routes.rs")),
        ("notifications", include_str!("notifications/routes.rs")),
        (
            "provider-feedback",
            include_str!("notifications/feedback.rs"),
        ),
        ("webhooks", include_str!("webhooks/routes.rs")),
        ("payments", include_str!("payments/routes.rs")),
    ];

    #[test]
    fn every_http_function_dispatches_exactly_its_routes() {
        for f in FUNCTIONS {
            let Entry::Http { routes, .. } = f.entry else {
                continue;
            };
            match DISPATCHERS.iter().find(|(name, _)| *name == f.name) {
                Some((_, source)) => assert_routes_dispatched(routes, source),
                None => assert_eq!((f.name, routes.len()), ("mp-intake", 1)),
            }
        }
    }

    #[test]
    fn the_route_reader_sees_literal_arms_only() {
        let source = r#"
            match req.route_key.as_str() {
                "GET /a" => one().await,
                "POST /a/{id}" | "PUT /a/{id}" => {
                Some("sent") => Status::Sent,
                "payment" if numeric(id) => Job::Payment,
                _ => Err(ApiError::not_found("route")),
            }
        "#;
        assert_eq!(
            dispatched_routes(source),
            ["GET /a", "POST /a/{id}", "PUT /a/{id}"]
        );
    }
}
