//! The function process under test: its Lambda environment, spawning and stopping it, and what
//! `/proc` says about it.

use crate::stub::{Res, Stub};
use mostrador_devstack::Stack;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The environment Lambda would give the function, plus emulator endpoints.
pub fn process_env(
    stack: &Stack,
    binary: &str,
    runtime_api: &str,
    count_calls: bool,
) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = stack.env.get(binary).cloned().unwrap_or_default();
    for (k, v) in [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_owned()),
        ("AWS_LAMBDA_FUNCTION_NAME", binary.to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "1".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "local".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "local".to_owned()),
        ("AWS_ENDPOINT_URL", stack.moto_endpoint.clone()),
        ("AWS_ENDPOINT_URL_DYNAMODB", stack.dynamodb_endpoint.clone()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ] {
        env.insert(k.to_owned(), v);
    }
    if count_calls {
        env.insert(mostrador::aws_calls::ENV_VAR.to_owned(), "1".to_owned());
    }
    env
}

pub fn spawn(bin: &Path, env: &BTreeMap<String, String>, piped: bool) -> Res<Child> {
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .envs(env)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .stdout(if piped { Stdio::piped() } else { Stdio::null() });
    Ok(cmd.spawn()?)
}

pub fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

pub async fn start_process(
    stack: &Stack,
    bin: &Path,
    binary: &str,
    count_calls: bool,
) -> Res<(Stub, Child)> {
    let mut stub = Stub::start().await?;
    let env = process_env(stack, binary, &stub.addr, count_calls);
    let first = stub.first_next.take().ok_or("stub already used")?;
    let child = spawn(bin, &env, count_calls)?;
    if tokio::time::timeout(Duration::from_secs(10), first)
        .await
        .is_err()
    {
        stop(child);
        return Err("no /next within 10 s".into());
    }
    Ok((stub, child))
}

pub fn proc_cpu_ticks(pid: u32) -> Res<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = stat.rsplit_once(')').map(|(_, a)| a).ok_or("bad stat")?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 (utime) and 15 (stime); `after` starts at field 3.
    let utime: u64 = fields.get(11).ok_or("no utime")?.parse()?;
    let stime: u64 = fields.get(12).ok_or("no stime")?.parse()?;
    Ok(utime + stime)
}

pub fn vmhwm_kib(pid: u32) -> Res<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .ok_or("no VmHWM")?;
    Ok(line.split_whitespace().nth(1).ok_or("bad VmHWM")?.parse()?)
}

pub fn clk_tck() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}
