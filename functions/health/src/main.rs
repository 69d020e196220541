//! Lambda `health`: dependency health checks and the API's catch-all 404.

#[tokio::main]
async fn main() -> Result<(), mostrador::runtime::Error> {
    mostrador::runtime::run_http(mostrador::health::routes::handler).await
}
