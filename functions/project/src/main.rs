//! Lambda `project`: `GET /v1/project`.

#[tokio::main]
async fn main() -> Result<(), mostrador::runtime::Error> {
    mostrador::runtime::run_http(mostrador::tenancy::routes::handler).await
}
