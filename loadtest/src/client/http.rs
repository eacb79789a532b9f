//! REST over hyper's connection API: HTTP/2 connections shared by several
//! workers, and the one-off GETs (metadata). The HTTP/1.1 request loop is in
//! `h1.rs`.
use std::io;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};

use super::{BodyCursor, Dialer, Endpoint, RequestBody, Stream, validate};
use crate::outcome::Outcome;

type Body = Full<Bytes>;

fn request(ep: &Endpoint, body: &RequestBody) -> Request<Body> {
    // The body is a reference-counted copy; only the header map is cloned.
    let mut req = Request::new(Full::new(body.bytes.clone()));
    *req.method_mut() = Method::POST;
    *req.uri_mut() = ep.uri.clone();
    *req.headers_mut() = ep.headers.clone();
    if let Some(n) = &body.json_len {
        req.headers_mut().insert(
            infergate_proto::v2::INFERENCE_HEADER_CONTENT_LENGTH,
            n.clone(),
        );
    }
    req
}

/// Reads the whole answer; decodes it only with `--validate`.
async fn outcome(ep: &Endpoint, resp: Response<Incoming>) -> hyper::Result<Outcome> {
    let status = resp.status();
    if !status.is_success() {
        let mut body = resp.into_body();
        while let Some(frame) = body.frame().await {
            frame?;
        }
        return Ok(Outcome::Http(status.as_u16()));
    }
    if ep.validate {
        let json_len = resp
            .headers()
            .get(infergate_proto::v2::INFERENCE_HEADER_CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse().ok());
        let body = resp.into_body().collect().await?.to_bytes();
        return Ok(if validate::http(ep.protocol, &body, json_len) {
            Outcome::Ok
        } else {
            Outcome::Invalid
        });
    }
    let mut body = resp.into_body();
    while let Some(frame) = body.frame().await {
        frame?;
    }
    Ok(Outcome::Ok)
}

type H1Driver = Pin<Box<http1::Connection<TokioIo<Stream>, Body>>>;

async fn h1_handshake(dialer: &Dialer) -> io::Result<(http1::SendRequest<Body>, H1Driver)> {
    let stream = dialer.connect().await?;
    let (send, conn) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(io::Error::other)?;
    Ok((send, Box::pin(conn)))
}

/// One HTTP/2 connection shared by several workers, reopened when it breaks.
pub struct H2Shared {
    ep: Arc<Endpoint>,
    current: tokio::sync::Mutex<http2::SendRequest<Body>>,
}

async fn h2_handshake(dialer: &Dialer) -> io::Result<http2::SendRequest<Body>> {
    let stream = dialer.connect().await?;
    let (send, conn) = http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
        .await
        .map_err(io::Error::other)?;
    tokio::spawn(conn);
    Ok(send)
}

impl H2Shared {
    pub async fn open(ep: Arc<Endpoint>) -> io::Result<Arc<Self>> {
        let send = h2_handshake(&ep.dialer).await?;
        Ok(Arc::new(H2Shared {
            ep,
            current: tokio::sync::Mutex::new(send),
        }))
    }

    /// A sender on a live connection, reconnecting once for everyone.
    async fn sender(&self) -> io::Result<http2::SendRequest<Body>> {
        let mut cur = self.current.lock().await;
        if cur.is_closed() {
            *cur = h2_handshake(&self.ep.dialer).await?;
        }
        Ok(cur.clone())
    }
}

pub struct H2Conn {
    shared: Arc<H2Shared>,
    cached: Option<http2::SendRequest<Body>>,
    cursor: BodyCursor,
}

impl H2Conn {
    pub fn new(shared: Arc<H2Shared>, cursor: BodyCursor) -> Self {
        H2Conn {
            shared,
            cached: None,
            cursor,
        }
    }

    pub async fn call(&mut self) -> Outcome {
        let mut send = match self.cached.take().filter(|s| !s.is_closed()) {
            Some(s) => s,
            None => match self.shared.sender().await {
                Ok(s) => s,
                Err(_) => return Outcome::Connect,
            },
        };
        let ep = &*self.shared.ep;
        let body = self.cursor.next(ep);
        let result = async {
            send.ready().await?;
            let resp = send.send_request(request(ep, body)).await?;
            outcome(ep, resp).await
        }
        .await;
        self.cached = Some(send);
        result.unwrap_or(Outcome::Io)
    }
}

/// A GET over a fresh HTTP/1.1 connection.
pub async fn get(
    dialer: &Dialer,
    path: &str,
    headers: &[(http::HeaderName, http::HeaderValue)],
) -> io::Result<(u16, Bytes)> {
    let (mut send, conn) = h1_handshake(dialer).await?;
    let driver = tokio::spawn(conn);
    let mut req = Request::get(path).header(http::header::HOST, dialer.authority.as_str());
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let req = req
        .body(Full::new(Bytes::new()))
        .map_err(io::Error::other)?;
    let result = async {
        let resp = send.send_request(req).await?;
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok::<_, hyper::Error>((status, body))
    }
    .await
    .map_err(io::Error::other);
    driver.abort();
    result
}
