//! Lambda `provider-feedback`: WhatsApp status webhooks.

#[tokio::main]
async fn main() -> Result<(), mostrador::runtime::Error> {
    mostrador::runtime::run_http(mostrador::notifications::feedback::handler).await
}
