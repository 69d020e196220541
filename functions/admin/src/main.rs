//! Lambda `admin`: the IAM-authenticated operator API under `/admin/*`.

#[tokio::main]
async fn main() -> Result<(), mostrador::runtime::Error> {
    mostrador::runtime::run_http(mostrador::admin::routes::handler).await
}
