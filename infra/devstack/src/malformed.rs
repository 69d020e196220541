//! Problem+json for requests hyper refuses before any handler sees them.
//!
//! A malformed HTTP/1.1 request (a header line without a colon, a bare CR, an obs-fold
//! continuation line, a bad request line) makes hyper answer on its own: `400 Bad Request`
//! (or 414/431) with `content-length: 0` and no body, and close the connection. hyper offers no
//! hook to shape that answer (`http1::Builder::ignore_invalid_headers` would accept the request
//! instead of refusing it), so the gateway's connections are wrapped: an automatic answer is
//! recognised on its way out (a 400/414/431 with an empty body, which no handler and no
//! `problem()` of ours ever writes) and replaced by the same status with a problem+json body,
//! code `malformed_request` (`header_too_large`, `uri_too_long`).
//!
//! Deployed, API Gateway's front end refuses such requests before any integration runs; its
//! answer is not a Mostrador problem and AWS does not document its body (README, "Request bodies
//! and validation errors"). Clients treat a 400 without `code` as malformed HTTP.

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// The gateway's listener: a TCP listener whose connections answer malformed requests with a
/// problem.
pub struct Listener(pub TcpListener);

/// The peer of a gateway connection (`ConnectInfo<Peer>`).
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub SocketAddr);

impl Connected<IncomingStream<'_, Listener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, Listener>) -> Self {
        Self(*stream.remote_addr())
    }
}

impl axum::serve::Listener for Listener {
    type Io = ProblemIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (ProblemIo, SocketAddr) {
        loop {
            match self.0.accept().await {
                Ok((stream, addr)) => {
                    return (
                        ProblemIo {
                            inner: stream,
                            pending: Vec::new(),
                        },
                        addr,
                    )
                }
                // Out of file descriptors and the like: wait, as axum's own listener does.
                Err(e) => {
                    tracing::debug!(error = %e, "local gateway accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

/// A gateway connection; `pending` holds a replacement answer not yet written.
pub struct ProblemIo {
    inner: TcpStream,
    pending: Vec<u8>,
}

/// The problem+json answer replacing hyper's automatic one, if `head` is one.
fn replacement(head: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(head).ok()?;
    let (status, code, detail) = if text.starts_with("HTTP/1.1 400 ") {
        (
            400,
            "malformed_request",
            "the request is not well-formed HTTP/1.1 (request line or a header line)",
        )
    } else if text.starts_with("HTTP/1.1 431 ") {
        (
            431,
            "header_too_large",
            "the request's header section is too large",
        )
    } else if text.starts_with("HTTP/1.1 414 ") {
        (414, "uri_too_long", "the request's URI is too long")
    } else {
        return None;
    };
    // The whole answer, head only, and an empty body.
    let lower = text.to_ascii_lowercase();
    if !lower.ends_with("\r\n\r\n") || !lower.contains("\r\ncontent-length: 0\r\n") {
        return None;
    }
    let request_id = ulid::Ulid::new().to_string();
    let reason = text
        .lines()
        .next()
        .unwrap_or("")
        .splitn(3, ' ')
        .nth(2)
        .unwrap_or("");
    let body = serde_json::json!({
        "type": format!("urn:mostrador:problem:{code}"),
        "title": reason,
        "status": status,
        "code": code,
        "detail": detail,
        "request_id": request_id,
    })
    .to_string();
    Some(
        format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-type: {}\r\ncontent-length: {}\r\nx-request-id: {request_id}\r\nconnection: close\r\n\r\n{body}",
            mostrador::error::PROBLEM_JSON,
            body.len()
        )
        .into_bytes(),
    )
}

impl ProblemIo {
    /// Writes what is pending; `Ready(Ok)` once nothing is.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.pending.is_empty() {
            match Pin::new(&mut self.inner).poll_write(cx, &self.pending) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    self.pending.drain(..n);
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for ProblemIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ProblemIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.drain(cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        }
        // hyper writes an automatic answer in one piece (this type is not vectored, so head
        // and body always arrive flattened).
        if let Some(answer) = replacement(buf) {
            self.pending = answer;
            let _ = self.drain(cx);
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.drain(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut self.inner).poll_flush(cx),
            other => other,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.drain(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut self.inner).poll_shutdown(cx),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::replacement;

    #[test]
    fn only_hyper_s_empty_automatic_answers_are_replaced() {
        let auto = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: Sat, 05 Dec 2026 08:00:00 GMT\r\n\r\n";
        let answer = String::from_utf8(replacement(auto).unwrap()).unwrap();
        assert!(answer.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        assert!(answer.contains("content-type: application/problem+json\r\n"));
        assert!(answer.contains("\"code\":\"malformed_request\""));
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/problem+json\r\ncontent-length: 120\r\n\r\n";
        assert!(replacement(ours).is_none());
        assert!(replacement(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
        let big = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n";
        assert!(String::from_utf8(replacement(big).unwrap())
            .unwrap()
            .contains("header_too_large"));
    }
}
