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
pub const BINARIES: &[&str] = &[
    "health",
    "project",
    "admin",
    "notifications",
    "sender",
    "provider-feedback",
    "email-feedback",
    "webhooks",
    "dispatcher",
    "retry-sweeper",
    "payments",
    "mp-intake",
    "payment-sync",
    "reconciler",
];

pub fn lookup(binary: &str) -> Option<Entry> {
    use mostrador::{admin, health, tenancy};
    match binary {
        "payments" => Some(Entry::Http {
            routes: mostrador::payments::routes::ROUTES,
            handler: mostrador::payments::routes::handler,
        }),
        "mp-intake" => Some(Entry::Http {
            routes: mostrador::payments::intake::ROUTES,
            handler: mostrador::payments::intake::handler,
        }),
        "payment-sync" => Some(Entry::Sqs(mostrador::payments::sync::handler)),
        "reconciler" => Some(Entry::Schedule(mostrador::payments::reconcile::handler)),
        "webhooks" => Some(Entry::Http {
            routes: mostrador::webhooks::api::ROUTES,
            handler: mostrador::webhooks::api::handler,
        }),
        "dispatcher" => Some(Entry::Sqs(mostrador::webhooks::dispatch::handler)),
        "retry-sweeper" => Some(Entry::Schedule(mostrador::webhooks::sweep::handler)),
        "notifications" => Some(Entry::Http {
            routes: mostrador::notifications::routes::ROUTES,
            handler: mostrador::notifications::routes::handler,
        }),
        "sender" => Some(Entry::Sqs(mostrador::notifications::sender::handler)),
        "provider-feedback" => Some(Entry::Http {
            routes: mostrador::notifications::feedback::ROUTES,
            handler: mostrador::notifications::feedback::handler,
        }),
        "email-feedback" => Some(Entry::Sqs(mostrador::notifications::ses_events::handler)),
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
