//! Outages of the provider sandboxes, for fault injection (`POST /_local/sandboxes/{name}/stop`
//! and `…/start`).
//!
//! Each sandbox serves on a private port; its public port (the one in `--port-base` and in
//! every function's environment) is a [`Switch`]: a TCP relay that can stop and start again on
//! the same port. Stopped, the port is closed (clients get *connection refused*) and every
//! relayed connection is cut, pooled keep-alive ones included; the sandbox itself keeps its
//! state, so a payment created before the outage can be paid after it.

use std::net::SocketAddr;
use std::sync::Mutex;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The public port of one sandbox.
pub struct Switch {
    port: u16,
    target: SocketAddr,
    running: Mutex<Option<Running>>,
}

struct Running {
    accept: JoinHandle<()>,
    /// Dropping it (or sending) ends every relayed connection.
    cut: watch::Sender<bool>,
}

impl Switch {
    /// Relays `public` to `target` until [`Switch::stop`].
    pub fn start_on(public: TcpListener, target: SocketAddr) -> std::io::Result<Self> {
        let port = public.local_addr()?.port();
        let switch = Self {
            port,
            target,
            running: Mutex::new(None),
        };
        switch.serve(public);
        Ok(switch)
    }

    pub fn is_running(&self) -> bool {
        self.lock().is_some()
    }

    /// Closes the public port and cuts every open connection.
    pub fn stop(&self) {
        if let Some(running) = self.lock().take() {
            running.accept.abort();
            let _ = running.cut.send(true);
        }
    }

    /// Listens on the same public port again (no-op when already running).
    pub async fn start(&self) -> std::io::Result<()> {
        if self.is_running() {
            return Ok(());
        }
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await?;
        self.serve(listener);
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Running>> {
        self.running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn serve(&self, listener: TcpListener) {
        let (cut, cut_rx) = watch::channel(false);
        let target = self.target;
        let accept = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let mut cut = cut_rx.clone();
                tokio::spawn(async move {
                    tokio::select! {
                        _ = relay(inbound, target) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        if let Some(old) = self.lock().replace(Running { accept, cut }) {
            old.accept.abort();
        }
    }
}

impl Drop for Switch {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn relay(mut inbound: TcpStream, target: SocketAddr) {
    if let Ok(mut outbound) = TcpStream::connect(target).await {
        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn echo() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 64];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        addr
    }

    async fn round_trip(s: &mut TcpStream) -> bool {
        let mut buf = [0u8; 4];
        s.write_all(b"ping").await.is_ok()
            && matches!(s.read_exact(&mut buf).await, Ok(4))
            && &buf == b"ping"
    }

    #[tokio::test]
    async fn stopped_refuses_and_cuts_then_serves_again_on_the_same_port() {
        let public = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = public.local_addr().unwrap();
        let switch = Switch::start_on(public, echo().await).unwrap();
        let mut open = TcpStream::connect(addr).await.unwrap();
        assert!(round_trip(&mut open).await);

        switch.stop();
        assert!(!switch.is_running());
        assert!(
            TcpStream::connect(addr).await.is_err(),
            "connection refused"
        );
        assert!(!round_trip(&mut open).await, "open connections are cut");

        switch.start().await.unwrap();
        let mut again = TcpStream::connect(addr).await.unwrap();
        assert!(round_trip(&mut again).await);
    }
}
