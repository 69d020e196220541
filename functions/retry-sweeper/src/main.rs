//! Lambda `retry-sweeper`: rate(1 minute) sweep of due webhook deliveries.

#[tokio::main]
async fn main() -> Result<(), mostrador::runtime::Error> {
    mostrador::runtime::run_schedule(mostrador::webhooks::sweep::handler).await
}
