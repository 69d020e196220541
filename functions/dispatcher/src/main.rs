//! Lambda `dispatcher`: SQS consumer on DeliveriesQueue.

#[tokio::main]
async fn main() -> Result<(), mostrador::runtime::Error> {
    mostrador::runtime::run_sqs(mostrador::webhooks::dispatch::handler).await
}
