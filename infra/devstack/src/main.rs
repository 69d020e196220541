//! `devstack`: starts the whole local stack and keeps it running until Ctrl-C.

use mostrador::telemetry::{self, Sink};
use mostrador_devstack::{Stack, StackOptions};
use std::path::PathBuf;

const USAGE: &str = "usage: devstack [--port-base N] [--root DIR]\n\
  Starts DynamoDB Local, moto, the sandboxes and the local API gateway (ports N..N+5, default 3100).";

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("devstack: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let mut base: u16 = 3100;
    let mut root = PathBuf::from(".");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port-base" => base = args.next().and_then(|v| v.parse().ok()).ok_or(USAGE)?,
            "--root" => root = args.next().map(PathBuf::from).ok_or(USAGE)?,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    let root = root.canonicalize().map_err(|e| format!("--root: {e}"))?;
    let level = std::env::var("LOG_LEVEL").unwrap_or_else(|_| "info".into());
    telemetry::init(&level, Sink::Stdout);
    let options = StackOptions {
        root: root.clone(),
        gateway_port: base,
        dynamodb_port: base + 1,
        moto_port: base + 2,
        mercadopago_port: base + 3,
        whatsapp_port: base + 4,
        receiver_port: base + 5,
        stack_name: "mostrador-local".into(),
        persistent: true,
        logs_dir: Some(root.join(".dev/logs")),
        public_api_url: None,
    };
    let stack = Stack::start(options).await.map_err(|e| e.to_string())?;
    write_env_file(&root, &stack).map_err(|e| format!("writing .dev/env: {e}"))?;
    mostrador_devstack::demo::write_private(
        &root.join(".dev/operator-token"),
        stack.operator_token(),
    )
    .map_err(|e| format!("writing .dev/operator-token: {e}"))?;
    let demo = mostrador_devstack::demo::ensure(&stack, &root).await?;
    banner(&stack, &demo);
    wait_for_signal().await;
    eprintln!("devstack: stopping");
    stack.shutdown().await;
    Ok(())
}

/// `.dev/env`: the environment a single function needs to run against this stack, for
/// `cargo lambda watch` / `cargo lambda invoke` (see README).
fn write_env_file(root: &std::path::Path, stack: &Stack) -> std::io::Result<()> {
    let mut out =
        String::from("# Written by devstack: source it to point a function at the local stack.\n");
    out.push_str(
        "export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local\n",
    );
    out.push_str(&format!(
        "export AWS_ENDPOINT_URL_DYNAMODB={}\n",
        stack.dynamodb_endpoint
    ));
    for service in ["SQS", "SESV2", "SECRETS_MANAGER"] {
        out.push_str(&format!(
            "export AWS_ENDPOINT_URL_{service}={}\n",
            stack.moto_endpoint
        ));
    }
    if let Some(env) = stack.env.values().next() {
        for (k, v) in env {
            out.push_str(&format!("export {k}='{v}'\n"));
        }
    }
    std::fs::write(root.join(".dev/env"), out)
}

#[allow(clippy::print_stdout)]
fn banner(stack: &Stack, demo: &mostrador_devstack::demo::Demo) {
    print!("{}", mostrador_devstack::banner::render(stack, demo));
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
