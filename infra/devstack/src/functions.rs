//! Which handler each function binary runs: the same entry points its `main.rs` passes to
//! `mostrador::runtime`. A test checks this table, `functions/*` and `template.yaml` agree.

use mostrador::http::HttpHandler;
use mostrador::runtime::ScheduleHandler;
use mostrador::sqs::SqsHandler;

#[derive(Clone, Copy)]
pub enum Entry {
    Http {
        /// Route keys the handler serves; must equal the template's routes for the function.
        routes: &'static [&'static str],
        handler: HttpHandler,
    },
    Sqs(SqsHandler),
    Schedule(ScheduleHandler),
}

/// Every function binary (`functions/<name>`), in the order `template.yaml` declares them.
pub const BINARIES: &[&str] = &["health", "project", "admin"];

pub fn lookup(binary: &str) -> Option<Entry> {
    use mostrador::{admin, health, tenancy};
    match binary {
        "project" => Some(Entry::Http {
            routes: tenancy::routes::ROUTES,
            handler: tenancy::routes::handler,
        }),
        "admin" => Some(Entry::Http {
            routes: admin::routes::ROUTES,
            handler: admin::routes::handler,
        }),
        "health" => Some(Entry::Http {
            routes: health::routes::ROUTES,
            handler: health::routes::handler,
        }),
        _ => None,
    }
}
