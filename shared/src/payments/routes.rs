//! The `payments` function: the provider-neutral payments API under `/v1/payments`.

use super::model::{CreatePayment, Mode, Payment};
use super::provider::{CardCharge, NewPayment, PaymentProvider, ProviderError};
use super::request::{load, provider_failure, provider_key};
use super::status::{Attempts, Status};
use super::{creds, intake, refund_routes, store, sync};
use crate::clock::rfc3339;
use crate::error::{ApiError, FieldError};
use crate::http::{json, ApiRequest};
use crate::paging::PageRequest;
use crate::tenancy::guard::protected;
use crate::tenancy::usage::{self, Metric};
use crate::tenancy::{flags, idempotency, Caller, Flag};
use crate::AppState;
use futures::future::BoxFuture;
use futures::FutureExt;
use http::StatusCode;
use lambda_http::{Body, Response};

pub const ROUTES: &[&str] = &[
    "POST /v1/payments",
    "GET /v1/payments",
    "GET /v1/payments/{payment_id}",
    "POST /v1/payments/{payment_id}/refunds",
    "GET /v1/payments/{payment_id}/refunds",
];

pub fn handler(
    state: &'static AppState,
    req: ApiRequest,
) -> BoxFuture<'static, Result<Response<Body>, ApiError>> {
    protected(state, req, move |caller, req| handle(state, caller, req)).boxed()
}

async fn handle(
    state: &'static AppState,
    caller: Caller,
    req: ApiRequest,
) -> Result<Response<Body>, ApiError> {
    flags::require(&caller.project, Flag::PaymentsMercadopago)?;
    match req.route_key.as_str() {
        "POST /v1/payments" => {
            idempotency::once(state, &caller, &req, || create(state, &caller, &req)).await
        }
        "GET /v1/payments" => list(state, &caller, &req).await,
        "GET /v1/payments/{payment_id}" => {
            let p = load(state, &caller, &req).await?;
            let mut view = p.view();
            view.history = Some(store::history(state, &caller.project.id, &p.id).await?);
            json(StatusCode::OK, &view)
        }
        "POST /v1/payments/{payment_id}/refunds" => {
            idempotency::once(state, &caller, &req, || {
                refund_routes::create(state, &caller, &req)
            })
            .await
        }
        "GET /v1/payments/{payment_id}/refunds" => refund_routes::list(state, &caller, &req).await,
        _ => Err(ApiError::not_found("route")),
    }
}

async fn create(
    state: &AppState,
    caller: &Caller,
    req: &ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let body: CreatePayment = req.json()?;
    let valid = body.validate()?;
    // A re-run of an idempotent request whose first run died before its answer was stored
    // continues that run's payment (tenancy::minted): answered as is once the provider call
    // gave its result, else the call is made again with the same X-Idempotency-Key.
    let rerun = match caller.rerun_id() {
        Some(id) => store::get(state, &caller.project.id, &id).await?,
        None => None,
    };
    if let Some(p) = rerun
        .as_ref()
        .filter(|p| p.checkout_id.is_some() || p.provider_payment_id.is_some() || p.closed)
    {
        return created(p);
    }
    let creds = creds::get(state, &caller.project.id)
        .await?
        .ok_or_else(creds::not_configured)?;
    let provider = creds::provider(state, &creds);
    let notification_url = intake::notification_url(state, &caller.project.id, req)?;
    let now = state.clock.now();
    let at = rfc3339(now);
    let fresh = || Payment {
        id: caller.new_id(now),
        project_id: caller.project.id,
        order_id: body.order_id.clone(),
        provider: provider.name().into(),
        mode: body.mode,
        amount_minor: body.amount,
        currency: valid.currency,
        description: valid.description.clone(),
        items: valid.items.clone(),
        status: Status::Pending,
        status_detail: None,
        refunded_minor: 0,
        provider_payment_id: None,
        checkout_id: None,
        redirect_url: None,
        attempts: Attempts::new(),
        closed: false,
        next_check_ms: None,
        version: 1,
        created_at: at.clone(),
        updated_at: at.clone(),
    };
    let mut payment = match rerun {
        Some(p) => p,
        None => {
            usage::consume(state, &caller.project, Metric::Payments, now).await?;
            let payment = fresh();
            // Stored first: whatever happens at the provider, the payment exists and is
            // reconciled.
            store::insert(state, &payment).await?;
            payment
        }
    };
    let id = payment.id;
    let new = NewPayment {
        reference: id.to_string(),
        order_id: payment.order_id.clone(),
        amount_minor: payment.amount_minor,
        currency: payment.currency,
        description: valid.description,
        items: valid.items,
        payer_email: valid.payer_email,
        notification_url,
        back_urls: body.back_urls.clone(),
        idempotency_key: provider_key(caller, req, &id.to_string()),
    };
    let outcome = match body.mode {
        Mode::Checkout => provider.create_checkout(&new).await.map(|c| {
            payment.checkout_id = Some(c.checkout_id);
            payment.redirect_url = Some(c.redirect_url);
            None
        }),
        Mode::Direct => {
            let card = CardCharge {
                token: body.card_token.clone().unwrap_or_default(),
                installments: body.installments.unwrap_or(1),
                payment_method_id: body.payment_method_id.clone(),
            };
            provider.charge_card(&new, &card).await.map(Some)
        }
    };
    match outcome {
        Ok(charged) => {
            if payment.checkout_id.is_some() {
                let old = payment.version;
                payment.version += 1;
                store::replace(state, &payment, old).await?;
            }
            if let Some(pp) = charged {
                if let Some(applied) =
                    sync::apply(state, &caller.project, provider.as_ref(), &pp).await?
                {
                    payment = applied;
                }
            }
            created(&payment)
        }
        Err(ProviderError::Unavailable(m)) => {
            // Unknown outcome: the payment stays pending and reconciliation finds the truth.
            Err(provider_failure(ProviderError::Unavailable(m))
                .with_member("payment_id", id.to_string()))
        }
        Err(e) => {
            let old = payment.version;
            payment.version += 1;
            payment.status = Status::Failed;
            payment.status_detail = Some("provider_rejected".into());
            payment.closed = true;
            payment.updated_at = rfc3339(state.clock.now());
            store::commit_change(state, &payment, old, false).await?;
            Err(provider_failure(e).with_member("payment_id", id.to_string()))
        }
    }
}

fn created(p: &Payment) -> Result<Response<Body>, ApiError> {
    let mut response = json(StatusCode::CREATED, &p.view())?;
    if let Ok(v) = http::HeaderValue::from_str(&format!("/v1/payments/{}", p.id)) {
        response.headers_mut().insert(http::header::LOCATION, v);
    }
    Ok(response)
}

async fn list(
    state: &AppState,
    caller: &Caller,
    req: &ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let mut errors = Vec::new();
    let order_id = req.query("order_id")?;
    if order_id.is_some_and(|o| !super::model::valid_order_id(o)) {
        errors.push(FieldError::new(
            "order_id",
            "invalid",
            "is not a valid order id",
        ));
    }
    let status = match req.query("status")? {
        None => None,
        Some(s) => match Status::parse(s) {
            Some(s) => Some(s),
            None => {
                errors.push(FieldError::new(
                    "status",
                    "invalid",
                    "is not a payment status",
                ));
                None
            }
        },
    };
    let page = PageRequest::read::<crate::ids::Payment>(req, &mut errors)?;
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let filter = store::Filter { order_id, status };
    let found = store::list(state, &caller.project.id, &filter, &page).await?;
    let page = super::model::PaymentList {
        data: found.items.iter().map(Payment::view).collect(),
        next_cursor: found.next_cursor,
    };
    json(StatusCode::OK, &page)
}

#[allow(dead_code)]
fn _assert_object_safe(_: &dyn PaymentProvider) {}
