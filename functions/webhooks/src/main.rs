//! Lambda `webhooks`: events, webhook endpoints and deliveries under `/v1/*`.

#[tokio::main]
async fn main() -> Result<(), mostrador::runtime::Error> {
    mostrador::runtime::run_http(mostrador::webhooks::api::handler).await
}
