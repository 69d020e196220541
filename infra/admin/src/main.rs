//! `mostrador-admin`: operator commands against the configured AWS account, or the local stack
//! (`source .dev/env` first). Same library as the admin API: `mostrador::admin`.

// A CLI's output is its interface.
#![allow(clippy::print_stdout)]

mod cli;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    cli::run().await
}
