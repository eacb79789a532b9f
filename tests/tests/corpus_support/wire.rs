//! Raw HTTP/1.1 over a TCP socket: the corpus writes the exact bytes of a
//! request (lengths that lie included) and reads back the status and body.
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What came back on the socket.
#[derive(Debug, Clone, PartialEq)]
pub enum WireAnswer {
    Response {
        status: u16,
        body: String,
    },
    /// The server closed the connection without a response.
    Closed,
}

/// A request's bytes: `content-length` is added from the body unless the
/// case gives its own (or a `transfer-encoding`).
pub fn request_bytes(
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nhost: corpus\r\n").into_bytes();
    let mut framed = false;
    for (k, v) in headers {
        let k_low = k.to_ascii_lowercase();
        framed |= k_low == "content-length" || k_low == "transfer-encoding";
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !framed {
        out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

/// Sends `bytes` on a new connection (half-closing it after when
/// `shutdown`) and reads the first response.
pub async fn exchange(
    addr: std::net::SocketAddr,
    bytes: &[u8],
    shutdown: bool,
) -> std::io::Result<WireAnswer> {
    let mut s = TcpStream::connect(addr).await?;
    // A server may answer (and close) before it read everything we send.
    if s.write_all(bytes).await.is_err() {
        return read_answer(&mut s).await;
    }
    if shutdown {
        let _ = s.shutdown().await;
    }
    read_answer(&mut s).await
}

/// Reads one response (Content-Length or chunked body) from `s`.
pub async fn read_answer(s: &mut TcpStream) -> std::io::Result<WireAnswer> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let head_len = loop {
        if let Some(n) = head_end(&buf) {
            // An interim answer (100 Continue) is skipped: the final one counts.
            if buf.starts_with(b"HTTP/1.1 1") {
                buf.drain(..n);
                continue;
            }
            break n;
        }
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) if buf.is_empty() => return Ok(WireAnswer::Closed),
            Ok(0) => return Err(std::io::Error::other("response head cut short")),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(e),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_len]).to_ascii_lowercase();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status in {head:?}")))?;
    let length = head.lines().find_map(|l| {
        l.strip_prefix("content-length:")
            .and_then(|v| v.trim().parse::<usize>().ok())
    });
    let chunked = head.contains("transfer-encoding: chunked");
    let mut body = buf[head_len..].to_vec();
    let done = |b: &[u8]| match length {
        Some(n) => b.len() >= n,
        None if chunked => b.ends_with(b"0\r\n\r\n"),
        None => false,
    };
    while !done(&body) {
        match tokio::time::timeout(Duration::from_secs(5), s.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => body.extend_from_slice(&chunk[..n]),
        }
    }
    if let Some(n) = length {
        body.truncate(n);
    }
    Ok(WireAnswer::Response {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}
