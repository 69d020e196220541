//! Lambda `notifications`: templates and notifications under `/v1`.

#[tokio::main]
async fn main() -> Result<(), mostrador::runtime::Error> {
    mostrador::runtime::run_http(mostrador::notifications::routes::handler).await
}
