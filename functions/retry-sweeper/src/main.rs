//! Lambda `retry-sweeper`: rate(1 minute) sweep of due webhook deliveries.

/// What this binary runs: its entry in `mostrador::functions`, found at compile time.
const ENTRY: mostrador::functions::Entry = mostrador::functions::named(env!("CARGO_BIN_NAME"));

#[tokio::main]
async fn main() -> Result<(), mostrador::runtime::Error> {
    ENTRY.serve().await
}
