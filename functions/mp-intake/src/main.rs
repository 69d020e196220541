//! Lambda `mp-intake`: Public Mercado Pago notification intake: verifies, enqueues a payment sync, answers 200.

#[tokio::main]
async fn main() -> Result<(), mostrador::runtime::Error> {
    mostrador::runtime::run_http(mostrador::payments::intake::handler).await
}
