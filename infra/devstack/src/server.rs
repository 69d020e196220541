//! The local gateway's HTTP server: `/_local/*` control endpoints for developers and tests
//! (fault injection, clock), everything else through the API Gateway emulation.

use crate::emulators::Kind;
use crate::gateway::{event, invoke, Incoming, SharedRoutes, MAX_BODY};
use crate::malformed::Peer;
use crate::problem::problem;
use crate::running::Running;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use http::StatusCode;
use serde_json::json;
use std::sync::Arc;
use tokio::sync::watch;

#[derive(Clone)]
struct App {
    routes: SharedRoutes,
    inner: Arc<Running>,
}

pub async fn serve(
    listener: tokio::net::TcpListener,
    routes: SharedRoutes,
    inner: Arc<Running>,
    mut shutdown: watch::Receiver<bool>,
) {
    let app = Router::new()
        .route("/_local/emulators/{name}/{action}", post(control))
        .route("/_local/sandboxes/{name}/{action}", post(sandbox_control))
        .route("/_local/clock/advance/{seconds}", post(advance_clock))
        .route("/_local/schedules/{binary}/run", post(run_schedule))
        .route("/_local/mail", axum::routing::get(local_mail))
        .route(
            "/_local/ses",
            axum::routing::get(ses_front_show).post(ses_front_set),
        )
        .route(
            "/_local/mail/identities/{identity}",
            post(local_mail_identity),
        )
        .route(
            "/_local/mail/{message_id}/events/{kind}",
            post(local_mail_event),
        )
        .fallback(gateway)
        .with_state(App { routes, inner });
    // Connections wrapped so that requests hyper refuses itself still get problem+json.
    let server = axum::serve(
        crate::malformed::Listener(listener),
        app.into_make_service_with_connect_info::<Peer>(),
    )
    .with_graceful_shutdown(async move {
        let _ = shutdown.changed().await;
    });
    if let Err(e) = server.await {
        tracing::error!(error = %e, "local gateway stopped");
    }
}

async fn control(State(app): State<App>, Path((name, action)): Path<(String, String)>) -> Response {
    let kind = match name.as_str() {
        "dynamodb" => Kind::DynamoDbLocal,
        "moto" => Kind::Moto,
        _ => {
            return problem(
                StatusCode::NOT_FOUND,
                "unknown_emulator",
                "emulators are dynamodb and moto",
            )
        }
    };
    match action.as_str() {
        "stop" => {
            app.inner.stop_emulator(kind).await;
            (
                StatusCode::OK,
                axum::Json(json!({"emulator": name, "running": false})),
            )
                .into_response()
        }
        "start" => match app.inner.start_emulator(kind).await {
            Ok(()) => (
                StatusCode::OK,
                axum::Json(json!({"emulator": name, "running": true})),
            )
                .into_response(),
            Err(e) => problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "emulator_start_failed",
                &e.to_string(),
            ),
        },
        _ => problem(
            StatusCode::NOT_FOUND,
            "unknown_action",
            "actions are start and stop",
        ),
    }
}

/// `POST /_local/sandboxes/{mercadopago,whatsapp,receiver}/{stop,start}` (see `outage.rs`).
async fn sandbox_control(
    State(app): State<App>,
    Path((name, action)): Path<(String, String)>,
) -> Response {
    let Some(switch) = app.inner.sandboxes.get(name.as_str()) else {
        return problem(
            StatusCode::NOT_FOUND,
            "unknown_sandbox",
            "sandboxes are mercadopago, whatsapp and receiver",
        );
    };
    let outcome = match action.as_str() {
        "stop" => {
            switch.stop();
            Ok(())
        }
        "start" => switch.start().await,
        _ => {
            return problem(
                StatusCode::NOT_FOUND,
                "unknown_action",
                "actions are start and stop",
            )
        }
    };
    match outcome {
        Ok(()) => {
            axum::Json(json!({"sandbox": name, "running": switch.is_running()})).into_response()
        }
        Err(e) => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "sandbox_start_failed",
            &e.to_string(),
        ),
    }
}

async fn advance_clock(State(app): State<App>, Path(seconds): Path<i64>) -> Response {
    app.inner.clock.advance(time::Duration::seconds(seconds));
    let now = mostrador::clock::rfc3339(app.inner.clock.now());
    (StatusCode::OK, axum::Json(json!({"now": now}))).into_response()
}

/// Runs a scheduled function once, now (tests move the clock, then run the sweep).
async fn run_schedule(State(app): State<App>, Path(binary): Path<String>) -> Response {
    let Some((state, handler)) = app.inner.schedules.get(&binary).copied() else {
        return problem(
            StatusCode::NOT_FOUND,
            "unknown_schedule",
            "no scheduled function with that binary name",
        );
    };
    match handler(state).await {
        Ok(()) => (
            StatusCode::OK,
            axum::Json(json!({"function": binary, "ran": true})),
        )
            .into_response(),
        Err(e) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "schedule_failed",
            &e.to_string(),
        ),
    }
}

/// `GET /_local/mail`: what SES (moto) accepted (see `mail.rs`).
async fn local_mail(State(app): State<App>) -> Response {
    let endpoint = app.inner.moto.lock().await.endpoint();
    crate::mail::list(endpoint).await
}

/// `GET /_local/ses`: the SES front's faults and counters (see `ses_front.rs`).
async fn ses_front_show(State(app): State<App>) -> Response {
    let (rules, unmatched) = app.inner.ses_front.rules();
    axum::Json(json!({"rules": rules, "unmatched_sends": unmatched})).into_response()
}

/// `POST /_local/ses` `{"match": "shop.test", "max_send_rate": 5, "accept_then_reset": 1}`:
/// sets the SES front's rule for `match` (no fault given: removes it).
async fn ses_front_set(
    State(app): State<App>,
    axum::Json(faults): axum::Json<crate::ses_front::Faults>,
) -> Response {
    app.inner.ses_front.set(faults);
    ses_front_show(State(app)).await
}

/// `POST /_local/mail/{message_id}/events/{kind}`: plays SES publishing an event for a sent
/// message (see `email_events.rs`).
async fn local_mail_event(
    State(app): State<App>,
    Path((message_id, kind)): Path<(String, String)>,
) -> Response {
    let endpoint = app.inner.moto.lock().await.endpoint();
    let destinations = app.inner.physical.lock().await.email_destinations.clone();
    let at = mostrador::clock::rfc3339(app.inner.clock.now());
    crate::email_events::simulate(
        endpoint,
        &app.inner.admin_sns,
        &destinations,
        &message_id,
        &kind,
        &at,
    )
    .await
}

/// `POST /_local/mail/identities/{identity}`: creates a sender identity in moto's SES.
async fn local_mail_identity(State(app): State<App>, identity: Path<String>) -> Response {
    let endpoint = app.inner.moto.lock().await.endpoint();
    crate::mail::create_identity(endpoint, identity).await
}

async fn gateway(
    State(app): State<App>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "request body exceeds API Gateway's 10 MB limit",
        );
    };
    let method = parts.method.as_str().to_owned();
    let path = parts.uri.path().to_owned();
    let Some((target, params)) = app.routes.find(&method, &path) else {
        return problem(StatusCode::NOT_FOUND, "route_not_found", "no route matches");
    };
    if target.route.authorizer.as_deref() == Some("AWS_IAM") {
        let expected = format!("Bearer {}", app.inner.operator_token);
        let presented = parts
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if presented != Some(expected.as_str()) {
            // API Gateway refuses unsigned requests to IAM routes before any function runs.
            return problem(
                StatusCode::FORBIDDEN,
                "operator_auth_required",
                "this route needs IAM authorization; locally, send Authorization: Bearer <operator token>",
            );
        }
    }
    let incoming = Incoming {
        method: &method,
        path: &path,
        raw_query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
        body: &body,
        source_ip: peer.ip().to_string(),
        request_id: ulid::Ulid::new().to_string(),
        now: time::OffsetDateTime::now_utc(),
    };
    let event = event(&incoming, &target.route, params);
    let (status, headers, body) = invoke(target, event).await;
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}
