//! Lambda `payment-sync`: PaymentsQueue consumer: re-fetches payments from Mercado Pago and applies their status.

#[tokio::main]
async fn main() -> Result<(), mostrador::runtime::Error> {
    mostrador::runtime::run_sqs(mostrador::payments::sync::handler).await
}
