//! Entries for the HTTP/1.1 fuzz target (fuzz/), not API: the requests the
//! fast path takes from some bytes, and those hyper (with the server's
//! HTTP/1.1 settings) takes from the same bytes.
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One request as a server handler would see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenRequest {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

fn seen<B>(parts: &http::request::Parts, body: B) -> SeenRequest
where
    B: Into<Vec<u8>>,
{
    SeenRequest {
        method: parts.method.to_string(),
        target: parts.uri.to_string(),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
            .collect(),
        body: body.into(),
    }
}

/// How the fast path leaves the bytes after the requests it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FastEnd {
    /// It waits for more bytes (a head or body not yet complete).
    Waits,
    /// It hands the connection, from the next request on, to hyper.
    HandsOver,
}

/// The pipelined requests the fast path serves from `buf`, in order.
pub fn h1_fast_path(buf: &[u8]) -> (Vec<SeenRequest>, FastEnd) {
    let mut taken = Vec::new();
    let mut rest = Bytes::copy_from_slice(buf);
    loop {
        match crate::http::fuzz_h1_head(&rest) {
            None => return (taken, FastEnd::HandsOver),
            Some(None) => return (taken, FastEnd::Waits),
            Some(Some((head_len, body_len))) => {
                if rest.len() < head_len + body_len {
                    return (taken, FastEnd::Waits);
                }
                let message = rest.split_to(head_len + body_len);
                match crate::http::fuzz_h1_request(&message, head_len) {
                    Some((parts, body)) => taken.push(seen(&parts, body.to_vec())),
                    None => return (taken, FastEnd::HandsOver),
                }
            }
        }
    }
}

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime for the fuzz target");
}

/// The requests hyper serves from `buf` (then the end of input), with the
/// HTTP/1.1 settings the server gives it; `None` if it did not finish
/// within a second (a hang).
pub fn h1_hyper(buf: &[u8]) -> Option<Vec<SeenRequest>> {
    RUNTIME.with(|rt| rt.block_on(hyper_serves(buf)))
}

async fn hyper_serves(buf: &[u8]) -> Option<Vec<SeenRequest>> {
    let (mut client, server) = tokio::io::duplex(buf.len() + 64 * 1024);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
        let tx = tx.clone();
        async move {
            let (parts, body) = req.into_parts();
            if let Ok(body) = Limited::new(body, 4 << 20).collect().await {
                let _ = tx.send(seen(&parts, body.to_bytes().to_vec()));
            }
            Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::new())))
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .keep_alive(true)
        .half_close(true)
        .serve_connection(hyper_util::rt::TokioIo::new(server), service);
    let talk = async {
        let _ = client.write_all(buf).await;
        let _ = client.shutdown().await;
        let mut answers = Vec::new();
        let _ = client.read_to_end(&mut answers).await;
    };
    let both = async { tokio::join!(conn, talk) };
    let (_served, ()) = tokio::time::timeout(Duration::from_secs(1), both)
        .await
        .ok()?;
    let mut requests = Vec::new();
    while let Ok(r) = rx.try_recv() {
        requests.push(r);
    }
    Some(requests)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_paths_take_the_same_pipelined_requests() {
        let buf = b"POST /v2/models/m/infer HTTP/1.1\r\nhost: a\r\ncontent-length: 2\r\n\r\n{}\
GET /v2/health/ready?x=1 HTTP/1.1\r\nx-a: 1\r\nX-A: 2\r\n\r\n\
POST /v1/models/m:predict HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n";
        let (fast, end) = h1_fast_path(buf);
        assert_eq!(end, FastEnd::HandsOver, "chunked goes to hyper");
        assert_eq!(fast.len(), 2);
        assert_eq!(fast[0].body, b"{}");
        assert_eq!(fast[1].headers[0], ("x-a".to_string(), b"1".to_vec()));
        let hyper = h1_hyper(buf).expect("hyper finished");
        assert_eq!(hyper.len(), 3);
        assert_eq!(hyper[..2], fast[..]);
        assert_eq!(hyper[2].body, b"z");

        let (fast, end) = h1_fast_path(b"GET / HTTP/1.1\r\ncontent-length: 5\r\n\r\nab");
        assert_eq!((fast.len(), end), (0, FastEnd::Waits));
    }
}
