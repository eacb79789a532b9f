//! HTTP/1.1 keep-alive by hand, the generator's hot path: the request is
//! encoded once per target, written with one call, and each answer parsed in
//! place with httparse. hyper's client spent noticeably more CPU per request
//! than wrk does (docs/benchmarks.md), and a generator's ceiling is its
//! per-request cost.
use std::io;
use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Endpoint, RequestBody, Stream, validate};
use crate::outcome::Outcome;

const MAX_HEADERS: usize = 64;
const READ_CHUNK: usize = 16 * 1024;

/// The request bytes: request line, the endpoint's headers, length, body.
pub fn encode_request(ep: &Endpoint, body: &RequestBody) -> Bytes {
    let mut out = Vec::with_capacity(256 + body.bytes.len());
    out.extend_from_slice(b"POST ");
    out.extend_from_slice(ep.uri.path().as_bytes());
    if let Some(q) = ep.uri.query() {
        out.push(b'?');
        out.extend_from_slice(q.as_bytes());
    }
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in &ep.headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if let Some(n) = &body.json_len {
        out.extend_from_slice(b"inference-header-content-length: ");
        out.extend_from_slice(n.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("content-length: {}\r\n\r\n", body.bytes.len()).as_bytes());
    out.extend_from_slice(&body.bytes);
    out.into()
}

/// What one answer's head says about its body.
struct Head {
    status: u16,
    len: usize,
    body: BodyLength,
    close: bool,
    json_len: Option<usize>,
}

enum BodyLength {
    Known(usize),
    Chunked,
    /// Until the server closes (no length, no chunking).
    UntilClose,
}

fn parse_head(buf: &[u8]) -> io::Result<Option<Head>> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    let len = match resp.parse(buf).map_err(io::Error::other)? {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => return Ok(None),
    };
    let status = resp.code.unwrap_or(0);
    let mut body = BodyLength::UntilClose;
    let mut close = resp.version == Some(0);
    let mut json_len = None;
    for h in resp.headers.iter() {
        let value = std::str::from_utf8(h.value).unwrap_or("").trim();
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = value
                .parse()
                .map_err(|_| io::Error::other("bad content-length"))?;
            body = BodyLength::Known(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            if value.to_ascii_lowercase().ends_with("chunked") {
                body = BodyLength::Chunked;
            }
        } else if h.name.eq_ignore_ascii_case("connection") {
            close = value.eq_ignore_ascii_case("close");
        } else if h
            .name
            .eq_ignore_ascii_case(infergate_proto::v2::INFERENCE_HEADER_CONTENT_LENGTH)
        {
            json_len = value.parse().ok();
        }
    }
    if status == 204 || status == 304 || (100..200).contains(&status) {
        body = BodyLength::Known(0);
    }
    let close = close || matches!(body, BodyLength::UntilClose);
    Ok(Some(Head {
        status,
        len,
        body,
        close,
        json_len,
    }))
}

enum Attempt {
    Done(Outcome),
    /// The connection was closed before any of the answer came (an idle
    /// keep-alive connection the server dropped): retried on a new one.
    NotSent,
    Failed,
}

/// One HTTP/1.1 keep-alive connection, reopened when it breaks.
pub struct H1Conn {
    ep: Arc<Endpoint>,
    /// Each body's whole request, encoded once; sent in turn from `next`.
    requests: Vec<Bytes>,
    next: usize,
    stream: Option<Stream>,
    /// Requests answered on the current connection.
    served: u64,
    buf: BytesMut,
}

impl H1Conn {
    /// A connection whose first request carries body `start` (modulo their count).
    pub async fn open(ep: Arc<Endpoint>, start: usize) -> io::Result<Self> {
        let stream = Some(ep.dialer.connect().await?);
        let requests: Vec<Bytes> = ep.bodies.iter().map(|b| encode_request(&ep, b)).collect();
        Ok(H1Conn {
            next: start % requests.len().max(1),
            requests,
            ep,
            stream,
            served: 0,
            buf: BytesMut::with_capacity(READ_CHUNK),
        })
    }

    /// Drops the connection: a request abandoned mid-exchange leaves it unusable.
    pub fn abandon(&mut self) {
        self.stream = None;
    }

    pub async fn call(&mut self) -> Outcome {
        let Some(request) = self.requests.get(self.next).cloned() else {
            return Outcome::Io;
        };
        self.next = (self.next + 1) % self.requests.len();
        for _ in 0..2 {
            if self.stream.is_none() {
                match self.ep.dialer.connect().await {
                    Ok(s) => {
                        self.stream = Some(s);
                        self.served = 0;
                    }
                    Err(_) => return Outcome::Connect,
                }
            }
            match self.attempt(&request).await {
                Attempt::Done(o) => return o,
                Attempt::NotSent => self.stream = None,
                Attempt::Failed => {
                    self.stream = None;
                    return Outcome::Io;
                }
            }
        }
        Outcome::Io
    }

    async fn attempt(&mut self, request: &[u8]) -> Attempt {
        let reused = self.served > 0;
        let Some(stream) = self.stream.as_mut() else {
            return Attempt::NotSent;
        };
        self.buf.clear();
        if stream.write_all(request).await.is_err() {
            return if reused {
                Attempt::NotSent
            } else {
                Attempt::Failed
            };
        }
        let head = loop {
            match parse_head(&self.buf) {
                Ok(Some(head)) => break head,
                Ok(None) => {}
                Err(_) => return Attempt::Failed,
            }
            match read_more(stream, &mut self.buf).await {
                Ok(0) if self.buf.is_empty() && reused => return Attempt::NotSent,
                Ok(0) | Err(_) => return Attempt::Failed,
                Ok(_) => {}
            }
        };
        self.buf.advance(head.len);
        let body = match read_body(stream, &mut self.buf, &head.body).await {
            Ok(b) => b,
            Err(_) => return Attempt::Failed,
        };
        if head.close {
            self.stream = None;
        } else {
            self.served += 1;
        }
        Attempt::Done(self.judge(&head, &body))
    }

    fn judge(&self, head: &Head, body: &[u8]) -> Outcome {
        if !(200..300).contains(&head.status) {
            Outcome::Http(head.status)
        } else if self.ep.validate && !validate::http(self.ep.protocol, body, head.json_len) {
            Outcome::Invalid
        } else {
            Outcome::Ok
        }
    }
}

async fn read_more(stream: &mut Stream, buf: &mut BytesMut) -> io::Result<usize> {
    buf.reserve(READ_CHUNK);
    stream.read_buf(buf).await
}

/// Reads the body that follows the head (already taken off `buf`).
async fn read_body(
    stream: &mut Stream,
    buf: &mut BytesMut,
    len: &BodyLength,
) -> io::Result<BytesMut> {
    loop {
        if let Some(end) = body_end(buf, len)? {
            return Ok(take_body(buf, len, end));
        }
        if read_more(stream, buf).await? == 0 {
            return match len {
                BodyLength::UntilClose => Ok(buf.split()),
                _ => Err(io::ErrorKind::UnexpectedEof.into()),
            };
        }
    }
}

/// Largest answer body read: a misbehaving server's length or chunk sizes
/// must not make the generator read (and hold) without bound.
const MAX_BODY: usize = 256 << 20;
/// Longest chunk-size line (size, extensions) waited for.
const MAX_CHUNK_LINE: usize = 1024;

/// Where the body in `buf` ends (framing included), or `None` while more
/// must be read (always, for a body that lasts until the server closes).
fn body_end(buf: &[u8], len: &BodyLength) -> io::Result<Option<usize>> {
    let too_large = || Err(io::Error::other("answer body too large"));
    match *len {
        BodyLength::Known(n) if n > MAX_BODY => too_large(),
        BodyLength::Known(n) => Ok((buf.len() >= n).then_some(n)),
        BodyLength::UntilClose if buf.len() > MAX_BODY => too_large(),
        BodyLength::UntilClose => Ok(None),
        BodyLength::Chunked => {
            let (mut at, mut data) = (0, 0);
            loop {
                let Some((line, size)) = chunk_frame(&buf[at..])? else {
                    return Ok(None);
                };
                data += size;
                if data > MAX_BODY {
                    return too_large();
                }
                // The chunk, then its CRLF (after the last, empty chunk: the
                // trailer's final CRLF; trailers are not expected).
                at += line + size + 2;
                if buf.len() < at {
                    return Ok(None);
                }
                if size == 0 {
                    return Ok(Some(at));
                }
            }
        }
    }
}

/// The size line of the chunk at the start of `buf`: its length (CRLF
/// included) and the chunk's size; `None` until the line is complete.
fn chunk_frame(buf: &[u8]) -> io::Result<Option<(usize, usize)>> {
    let Some(line_end) = buf.windows(2).position(|w| w == b"\r\n") else {
        return if buf.len() > MAX_CHUNK_LINE {
            Err(io::Error::other("chunk size line too long"))
        } else {
            Ok(None)
        };
    };
    let size_text = std::str::from_utf8(&buf[..line_end]).unwrap_or("");
    let size_text = size_text.split(';').next().unwrap_or("").trim();
    let size = usize::from_str_radix(size_text, 16)
        .ok()
        .filter(|&n| n <= MAX_BODY)
        .ok_or_else(|| io::Error::other("bad chunk size"))?;
    Ok(Some((line_end + 2, size)))
}

/// Takes the complete body (`end` bytes of framing and data) off `buf`.
fn take_body(buf: &mut BytesMut, len: &BodyLength, end: usize) -> BytesMut {
    let mut framed = buf.split_to(end);
    if !matches!(len, BodyLength::Chunked) {
        return framed;
    }
    let mut body = BytesMut::new();
    // `body_end` checked every frame of these bytes.
    while let Ok(Some((line, size))) = chunk_frame(&framed) {
        framed.advance(line);
        body.extend_from_slice(&framed.split_to(size));
        framed.advance(2);
        if size == 0 {
            break;
        }
    }
    body
}

/// An answer's status and body as the generator reads them from `buf`,
/// `None` if `buf` ends before the answer does; for the fuzz target
/// (fuzz/), not API.
#[doc(hidden)]
pub fn fuzz_read_answer(buf: &[u8]) -> io::Result<Option<(u16, Vec<u8>)>> {
    let Some(head) = parse_head(buf)? else {
        return Ok(None);
    };
    let mut rest = BytesMut::from(&buf[head.len..]);
    let body = match body_end(&rest, &head.body)? {
        Some(end) => take_body(&mut rest, &head.body, end),
        None if matches!(head.body, BodyLength::UntilClose) => rest,
        None => return Ok(None),
    };
    Ok(Some((head.status, body.to_vec())))
}

#[cfg(test)]
mod tests {
    use tokio::net::TcpListener;

    use super::super::{Dialer, HttpVersion};
    use super::*;
    use crate::target::Protocol;

    /// A server that answers each request on one connection with the next
    /// of `answers`, then closes.
    async fn server(answers: Vec<&'static [u8]>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = Vec::new();
            for answer in answers {
                // Each request is a head and a 2-byte body.
                loop {
                    let mut chunk = [0u8; 1024];
                    let n = s.read(&mut chunk).await.unwrap();
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n")
                        && buf.len() >= i + 4 + 2
                    {
                        buf.drain(..i + 4 + 2);
                        break;
                    }
                }
                s.write_all(answer).await.unwrap();
            }
        });
        addr
    }

    fn endpoint(addr: String) -> Arc<Endpoint> {
        endpoint_with(addr, &[b"{}"])
    }

    fn endpoint_with(addr: String, bodies: &[&'static [u8]]) -> Arc<Endpoint> {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::HOST, addr.parse().unwrap());
        Arc::new(Endpoint {
            dialer: Dialer::new(addr, None),
            protocol: Protocol::V2,
            http: HttpVersion::H1,
            uri: "/v2/models/m/infer".parse().unwrap(),
            headers,
            bodies: bodies
                .iter()
                .map(|b| RequestBody {
                    bytes: Bytes::from_static(b),
                    json_len: None,
                })
                .collect(),
            validate: false,
        })
    }

    #[test]
    fn the_request_is_encoded_once_with_its_length() {
        let ep = endpoint("127.0.0.1:1".into());
        assert_eq!(
            &encode_request(&ep, &ep.bodies[0])[..],
            b"POST /v2/models/m/infer HTTP/1.1\r\nhost: 127.0.0.1:1\r\ncontent-length: 2\r\n\r\n{}"
        );
        let binary = RequestBody {
            bytes: Bytes::from_static(b"{}\x01"),
            json_len: Some(http::HeaderValue::from(2)),
        };
        assert_eq!(
            &encode_request(&ep, &binary)[..],
            b"POST /v2/models/m/infer HTTP/1.1\r\nhost: 127.0.0.1:1\r\ninference-header-content-length: 2\r\ncontent-length: 3\r\n\r\n{}\x01"
        );
    }

    #[tokio::test]
    async fn several_bodies_are_sent_in_turn_from_the_connections_start() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = Vec::new();
            loop {
                let mut chunk = [0u8; 1024];
                let n = s.read(&mut chunk).await.unwrap();
                if n == 0 {
                    return;
                }
                buf.extend_from_slice(&chunk[..n]);
                // Every body here is 2 bytes.
                while let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    if buf.len() < i + 6 {
                        break;
                    }
                    tx.send(buf[i + 4..i + 6].to_vec()).unwrap();
                    buf.drain(..i + 6);
                    s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                        .await
                        .unwrap();
                }
            }
        });
        let ep = endpoint_with(addr, &[b"aa", b"bb", b"cc"]);
        let mut conn = H1Conn::open(ep, 4).await.unwrap();
        for _ in 0..4 {
            assert_eq!(conn.call().await, Outcome::Ok);
        }
        let mut sent = Vec::new();
        for _ in 0..4 {
            sent.push(rx.recv().await.unwrap());
        }
        assert_eq!(sent, [b"bb", b"cc", b"aa", b"bb"]);
    }

    #[tokio::test]
    async fn lengths_chunks_and_close_delimited_answers_are_read_whole() {
        let addr = server(vec![
            b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nabc",
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
            b"HTTP/1.1 429 Too Many\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 503 Unavailable\r\nconnection: close\r\n\r\nbusy",
        ])
        .await;
        let mut conn = H1Conn::open(endpoint(addr), 0).await.unwrap();
        assert_eq!(conn.call().await, Outcome::Ok);
        assert_eq!(conn.call().await, Outcome::Ok);
        assert_eq!(conn.call().await, Outcome::Http(429));
        assert_eq!(conn.served, 3, "one connection for all keep-alive answers");
        assert_eq!(conn.call().await, Outcome::Http(503));
        assert!(
            conn.stream.is_none(),
            "a close-delimited answer ends the connection"
        );
    }

    #[tokio::test]
    async fn an_answer_cut_short_is_an_io_error() {
        let addr = server(vec![b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc"]).await;
        let mut conn = H1Conn::open(endpoint(addr), 0).await.unwrap();
        assert_eq!(conn.call().await, Outcome::Io);
    }

    #[test]
    fn heads_give_status_length_and_connection() {
        let h = parse_head(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello")
            .unwrap()
            .unwrap();
        assert_eq!((h.status, h.close), (200, false));
        assert!(matches!(h.body, BodyLength::Known(5)));
        assert_eq!(
            &b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello"[h.len..],
            b"hello"
        );

        let h = parse_head(
            b"HTTP/1.1 503 X\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!((h.status, h.close), (503, true));
        assert!(matches!(h.body, BodyLength::Chunked));

        assert!(
            parse_head(b"HTTP/1.1 200 OK\r\ncontent-le")
                .unwrap()
                .is_none()
        );
        assert!(
            parse_head(b"HTTP/1.0 200 OK\r\n\r\n")
                .unwrap()
                .unwrap()
                .close
        );
        assert!(parse_head(b"garbage\r\n\r\n").is_err());
    }

    #[test]
    fn bodies_are_read_whole_and_absurd_lengths_are_refused() {
        let read = |b: &[u8]| fuzz_read_answer(b).map_err(|e| e.to_string());
        let chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
        let with = |rest: &[u8]| [&chunked[..], rest].concat();
        assert_eq!(
            read(&with(b"3;x=y\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")).unwrap(),
            Some((200, b"abcde".to_vec()))
        );
        assert_eq!(read(&with(b"3\r\nabc\r\n2\r\nd")).unwrap(), None);
        // A size that would overflow the framing arithmetic, or hold the
        // generator reading for ever, is an error, not a panic or a wait.
        for size in ["ffffffffffffffff", "fffffffffffffff0", "10000001", "zz"] {
            let answer = with(format!("{size}\r\nabc\r\n").as_bytes());
            assert!(read(&answer).is_err(), "{size}");
        }
        assert!(read(&with(&[b'1'; 2000])).is_err(), "endless size line");
        let huge = b"HTTP/1.1 200 OK\r\ncontent-length: 999999999999\r\n\r\nab";
        assert!(read(huge).is_err());
        let close = b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil close";
        assert_eq!(read(close).unwrap(), Some((200, b"until close".to_vec())));
    }
}
