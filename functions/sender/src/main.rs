//! Lambda `sender`: NotificationsQueue consumer.

#[tokio::main]
async fn main() -> Result<(), mostrador::runtime::Error> {
    mostrador::runtime::run_sqs(mostrador::notifications::sender::handler).await
}
