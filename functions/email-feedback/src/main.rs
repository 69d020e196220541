//! Lambda `email-feedback`: EmailEventsQueue consumer (SES events through SNS).

#[tokio::main]
async fn main() -> Result<(), mostrador::runtime::Error> {
    mostrador::runtime::run_sqs(mostrador::notifications::ses_events::handler).await
}
