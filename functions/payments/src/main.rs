//! Lambda `payments`: The provider-neutral payments API under /v1/payments (Mercado Pago behind a provider trait).

#[tokio::main]
async fn main() -> Result<(), mostrador::runtime::Error> {
    mostrador::runtime::run_http(mostrador::payments::routes::handler).await
}
