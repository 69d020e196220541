//! Lambda `reconciler`: Every 5 minutes: re-checks payments pending too long (lost notifications).

#[tokio::main]
async fn main() -> Result<(), mostrador::runtime::Error> {
    mostrador::runtime::run_schedule(mostrador::payments::reconcile::handler).await
}
