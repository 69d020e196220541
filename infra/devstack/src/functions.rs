//! Which handler each function binary runs: the same entry points its `main.rs` passes to
//! `mostrador::runtime`. A test checks this table, `functions/*` and `template.yaml` agree.

use mostrador::http::HttpHandler;
use mostrador::sqs::SqsHandler;

#[derive(Clone, Copy)]
pub enum Entry {
    Http {
        /// Route keys the handler serves; must equal the template's routes for the function.
        routes: &'static [&'static str],
        handler: HttpHandler,
    },
    Sqs(SqsHandler),
}

/// Every function binary (`functions/<name>`), in the order `template.yaml` declares them.
pub const BINARIES: &[&str] = &["health"];

pub fn lookup(binary: &str) -> Option<Entry> {
    use mostrador::health;
    match binary {
        "health" => Some(Entry::Http {
            routes: health::routes::ROUTES,
            handler: health::routes::handler,
        }),
        _ => None,
    }
}
