//! The HTTP/1.1 fast path of plain-TCP REST connections.
//!
//! A connection starts here and stays while its requests are the plain kind
//! inference clients send: HTTP/1.1 GET or POST, a `Content-Length` body of
//! at most `FAST_BODY_MAX` (or none), no `Transfer-Encoding`, `Expect`,
//! `Upgrade` or `Connection` other than keep-alive. At the first request
//! that is anything else (or not HTTP/1.1 at all: h2c's preface, garbage),
//! the connection goes to hyper with the bytes read so far, for the rest of
//! its life, and hyper answers as on any other connection. Why: for a small
//! batched request hyper's per-request machinery (a channel for the body, a
//! boxed timer, more task polls) cost as much as our whole handling of it
//! (docs/benchmarks.md, "HTTP/1.1 fast path vs hyper").
use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Buf, Bytes, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH, DATE, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Uri, Version};
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};

use super::RestApi;
use super::body::{HttpResponse, RequestBody};
use crate::error::InferError;

/// Most headers a fast-path request may have (hyper takes up to 100).
const MAX_HEADERS: usize = 32;
/// Longest head the fast path waits for; past it hyper decides (431, or
/// reading on).
const MAX_HEAD: usize = 16 * 1024;
/// Largest body the fast path reads; larger ones stream through hyper.
pub const FAST_BODY_MAX: usize = 1024 * 1024;
const READ_CHUNK: usize = 8 * 1024;
/// How much of a pipelined next request is read while one is served.
const MAX_READ_AHEAD: usize = 64 * 1024;
/// Bodies up to this are copied behind the head: one write, one packet.
const COPY_BODY_MAX: usize = 64 * 1024;

/// How a connection served here ended.
pub enum Ended {
    /// The client left, stayed idle past the keep-alive time, or the server
    /// is stopping.
    Closed,
    /// A request the fast path does not serve: hyper takes the connection,
    /// starting with these bytes.
    HandOver(TcpStream, BytesMut),
}

/// Serves `io` until it ends or must go to hyper. `stop` turns true when
/// the server begins shutting down: an idle connection closes at once, a
/// request already arriving is answered (with `connection: close`; the
/// caller makes hyper do the same for one handed over).
pub async fn serve(
    mut io: TcpStream,
    api: Arc<RestApi>,
    keep_alive: Duration,
    body_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) -> Ended {
    // A year is forever here, and `Instant + keep_alive` cannot overflow.
    let keep_alive = keep_alive.min(Duration::from_secs(365 * 24 * 3600));
    let body_timeout = body_timeout.min(Duration::from_secs(365 * 24 * 3600));
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    let mut out = Vec::with_capacity(1024);
    // One timer for the connection's life, re-armed only when it fires: a
    // fresh one per request costs a timer-wheel insert and removal.
    let idle = tokio::time::sleep(keep_alive);
    tokio::pin!(idle);
    loop {
        // The next head is due within the keep-alive time.
        let head_deadline = Instant::now() + keep_alive;
        let head = loop {
            if !buf.is_empty() {
                match parse(&buf) {
                    Parsed::Complete(head) => break head,
                    Parsed::NotOurs => return Ended::HandOver(io, buf),
                    Parsed::Partial => {}
                }
            }
            buf.reserve(READ_CHUNK);
            if !read_more(&mut io, &mut buf, idle.as_mut(), head_deadline, &mut stop).await {
                return Ended::Closed;
            }
        };
        let total = head.len + head.body_len;
        // A body still arriving for a model whose queue is full: answered
        // from the head, then the body is read past and dropped, neither
        // buffered nor decoded (under overload, refusing must cost little).
        if buf.len() < total
            && let Some(refused) = refuse_early(&api, &head, &buf).await
        {
            let closing = *stop.borrow();
            if write_response(&mut io, &mut out, refused, closing)
                .await
                .is_err()
                || closing
            {
                return Ended::Closed;
            }
            let body_deadline = Instant::now() + body_timeout;
            buf.advance(head.len);
            let mut left = head.body_len;
            loop {
                let n = left.min(buf.len());
                buf.advance(n);
                left -= n;
                if left == 0 {
                    break;
                }
                // `buf` is empty: its room is reused, nothing grows.
                buf.reserve(READ_CHUNK);
                let deadline = body_deadline.min(Instant::now() + keep_alive);
                if !read_more(&mut io, &mut buf, idle.as_mut(), deadline, &mut stop).await {
                    return Ended::Closed;
                }
            }
            continue;
        }
        // The whole body is due by one deadline (a body trickled a byte at a
        // time must not hold the connection for ever), and one that stops
        // arriving for the keep-alive time is given up sooner.
        let body_deadline = Instant::now() + body_timeout;
        while buf.len() < total {
            // Room grows with what has arrived, so a slow body holds little.
            buf.reserve((total - buf.len()).min(buf.len().clamp(READ_CHUNK, MAX_READ_AHEAD)));
            let deadline = body_deadline.min(Instant::now() + keep_alive);
            if !read_more(&mut io, &mut buf, idle.as_mut(), deadline, &mut stop).await {
                if Instant::now() >= body_deadline {
                    let late = super::body::error(&InferError::BodyTimeout(body_timeout));
                    let _ = write_response(&mut io, &mut out, late, true).await;
                }
                return Ended::Closed;
            }
        }
        let mut message = buf.split_to(total).freeze();
        let body = message.split_off(head.len);
        let Some(request) = head.request(&message) else {
            // A name, value or target that `http` refuses: hyper answers it.
            let mut all = BytesMut::with_capacity(total + buf.len());
            all.extend_from_slice(&message);
            all.extend_from_slice(&body);
            all.extend_from_slice(&buf);
            return Ended::HandOver(io, all);
        };
        let call = api
            .clone()
            .handle(request.map(|()| RequestBody::Buffered(body)));
        tokio::pin!(call);
        let response = loop {
            tokio::select! {
                biased;
                response = &mut call => break response,
                // Watching the socket while the request is served: a client
                // that leaves cancels its request's work, as under hyper.
                read = async {
                    buf.reserve(READ_CHUNK);
                    io.read_buf(&mut buf).await
                }, if buf.len() < MAX_READ_AHEAD => {
                    if !matches!(read, Ok(n) if n > 0) {
                        return Ended::Closed;
                    }
                }
            }
        };
        let Ok(response) = response;
        let closing = *stop.borrow() || asks_to_close(&response);
        if write_response(&mut io, &mut out, response, closing)
            .await
            .is_err()
            || closing
        {
            return Ended::Closed;
        }
        // One large request must not pin a large buffer for the rest of
        // a keep-alive connection's life.
        if buf.is_empty() && buf.capacity() > MAX_READ_AHEAD {
            buf = BytesMut::with_capacity(READ_CHUNK);
        }
        if out.capacity() > MAX_READ_AHEAD {
            out = Vec::with_capacity(1024);
        }
    }
}

/// The answer to a request whose model refuses it from its head alone
/// (`None`: read its body and serve it as usual).
async fn refuse_early(api: &RestApi, head: &Head, buf: &[u8]) -> Option<HttpResponse> {
    let target = std::str::from_utf8(&buf[head.target.0..head.target.1]).ok()?;
    let path = target.split('?').next().unwrap_or(target);
    let refusal = api.refused_before_body(&head.method, path)?;
    let head_bytes = Bytes::copy_from_slice(&buf[..head.len]);
    let (parts, ()) = head.request(&head_bytes)?.into_parts();
    Some(api.answer_refused(parts, refusal).await)
}

/// Reads more into `buf`. False when the connection is done: the client
/// left, nothing came by `deadline`, or the server began stopping while no
/// part of a request had arrived. `idle` is the connection's one timer,
/// re-armed here only when it fires before `deadline`.
async fn read_more(
    io: &mut TcpStream,
    buf: &mut BytesMut,
    mut idle: Pin<&mut Sleep>,
    deadline: Instant,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    // The timer may be set for later than a body's own deadline.
    if idle.deadline() > deadline {
        idle.as_mut().reset(deadline);
    }
    loop {
        tokio::select! {
            biased;
            read = io.read_buf(buf) => return matches!(read, Ok(n) if n > 0),
            _ = stop.changed(), if buf.is_empty() => return false,
            () = &mut idle => {
                if Instant::now() >= deadline {
                    return false;
                }
                idle.as_mut().reset(deadline);
            }
        }
    }
}

fn asks_to_close(response: &HttpResponse) -> bool {
    response
        .headers()
        .get(CONNECTION)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"))
}

/// Byte ranges of a header in the buffer.
#[derive(Clone, Copy, Default)]
struct Field {
    name: (usize, usize),
    value: (usize, usize),
}

/// A complete fast-path head, as ranges into the buffer, so that the buffer
/// can be split (and the header values shared, not copied) after parsing.
struct Head {
    method: Method,
    target: (usize, usize),
    fields: [Field; MAX_HEADERS],
    count: usize,
    len: usize,
    body_len: usize,
}

// The head lives on the stack and moves once a request; a box would cost
// an allocation each time.
#[allow(clippy::large_enum_variant)]
enum Parsed {
    Complete(Head),
    Partial,
    NotOurs,
}

fn range(buf: &[u8], part: &[u8]) -> (usize, usize) {
    let start = part.as_ptr() as usize - buf.as_ptr() as usize;
    (start, start + part.len())
}

fn parse(buf: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() <= MAX_HEAD => return Parsed::Partial,
        Ok(httparse::Status::Partial) | Err(_) => return Parsed::NotOurs,
    };
    let method = match req.method {
        Some("POST") => Method::POST,
        Some("GET") => Method::GET,
        _ => return Parsed::NotOurs,
    };
    let (Some(1), Some(target)) = (req.version, req.path) else {
        return Parsed::NotOurs;
    };
    let mut fields = [Field::default(); MAX_HEADERS];
    let mut body_len = None;
    for (field, h) in fields.iter_mut().zip(req.headers.iter()) {
        let name = h.name.as_bytes();
        if name.eq_ignore_ascii_case(b"content-length") {
            match (body_len, decimal(h.value)) {
                (None, Some(n)) if n <= FAST_BODY_MAX => body_len = Some(n),
                _ => return Parsed::NotOurs,
            }
        } else if (name.eq_ignore_ascii_case(b"connection")
            && !h.value.eq_ignore_ascii_case(b"keep-alive"))
            || name.eq_ignore_ascii_case(b"transfer-encoding")
            || name.eq_ignore_ascii_case(b"expect")
            || name.eq_ignore_ascii_case(b"upgrade")
        {
            return Parsed::NotOurs;
        }
        *field = Field {
            name: range(buf, name),
            value: range(buf, h.value),
        };
    }
    Parsed::Complete(Head {
        method,
        target: range(buf, target.as_bytes()),
        count: req.headers.len(),
        fields,
        len,
        body_len: body_len.unwrap_or(0),
    })
}

/// For the fuzz target (crate::fuzzing): `None` if the fast path hands the
/// bytes to hyper, `Some(None)` while the head is incomplete, else the
/// head's and the body's lengths.
#[doc(hidden)]
pub fn fuzz_h1_head(buf: &[u8]) -> Option<Option<(usize, usize)>> {
    match parse(buf) {
        Parsed::Complete(head) => Some(Some((head.len, head.body_len))),
        Parsed::Partial => Some(None),
        Parsed::NotOurs => None,
    }
}

/// For the fuzz target: the request the fast path hands its handler from
/// one whole message (head and body), as `serve` builds it.
#[doc(hidden)]
pub fn fuzz_h1_request(message: &Bytes, head_len: usize) -> Option<(http::request::Parts, Bytes)> {
    let Parsed::Complete(head) = parse(message) else {
        return None;
    };
    let head_bytes = message.slice(..head_len);
    let request = head.request(&head_bytes)?;
    Some((request.into_parts().0, message.slice(head_len..)))
}

/// Digits only (no sign, no spaces, no overflow), as a body length.
fn decimal(v: &[u8]) -> Option<usize> {
    if v.is_empty() {
        return None;
    }
    v.iter().try_fold(0usize, |n, &d| {
        d.is_ascii_digit()
            .then(|| n.checked_mul(10)?.checked_add(usize::from(d - b'0')))?
    })
}

impl Head {
    /// The request, its target and header values sharing `head`'s memory.
    fn request(&self, head: &Bytes) -> Option<Request<()>> {
        let uri = Uri::from_maybe_shared(head.slice(self.target.0..self.target.1)).ok()?;
        let mut headers = HeaderMap::with_capacity(self.count);
        for f in &self.fields[..self.count] {
            let name = HeaderName::from_bytes(&head[f.name.0..f.name.1]).ok()?;
            let value = HeaderValue::from_maybe_shared(head.slice(f.value.0..f.value.1)).ok()?;
            headers.append(name, value);
        }
        let mut request = Request::new(());
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = uri;
        *request.version_mut() = Version::HTTP_11;
        *request.headers_mut() = headers;
        Some(request)
    }
}

async fn write_response(
    io: &mut TcpStream,
    out: &mut Vec<u8>,
    response: HttpResponse,
    close: bool,
) -> io::Result<()> {
    let (parts, mut body) = response.into_parts();
    let body = match body.frame().await {
        Some(Ok(frame)) => frame.into_data().unwrap_or_default(),
        _ => Bytes::new(),
    };
    out.clear();
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(parts.status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(parts.status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in &parts.headers {
        // Framing and the date are this writer's to set.
        if name == CONTENT_LENGTH || name == TRANSFER_ENCODING || name == CONNECTION || name == DATE
        {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    // No body (and no length) on the statuses that cannot have one.
    let bodyless = parts.status.is_informational()
        || parts.status == StatusCode::NO_CONTENT
        || parts.status == StatusCode::NOT_MODIFIED;
    if !bodyless {
        out.extend_from_slice(b"content-length: ");
        out.extend_from_slice(itoa::Buffer::new().format(body.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    write_date(out);
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if bodyless {
        io.write_all(out).await
    } else if body.len() <= COPY_BODY_MAX {
        out.extend_from_slice(&body);
        io.write_all(out).await
    } else {
        io.write_all(out).await?;
        io.write_all(&body).await
    }
}

thread_local! {
    /// The `date` header of the current second, made once a second per thread.
    static DATE_LINE: RefCell<(u64, Vec<u8>)> = const { RefCell::new((0, Vec::new())) };
}

fn write_date(out: &mut Vec<u8>) {
    let now = SystemTime::now();
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    DATE_LINE.with_borrow_mut(|(at, line)| {
        if *at != secs || line.is_empty() {
            *at = secs;
            line.clear();
            line.extend_from_slice(b"date: ");
            line.extend_from_slice(httpdate::fmt_http_date(now).as_bytes());
            line.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(line);
    });
}

#[cfg(test)]
mod tests;
