//! The fast path's choice of requests, and its connections over real
//! loopback sockets: pipelining, hand-over to hyper mid-connection, idle
//! timeout, cancellation when the client leaves, and shutdown.
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use infergate_proto::{ModelMetadata, ServerMetadata};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{FAST_BODY_MAX, MAX_HEAD, Parsed, parse};
use crate::builtin::builtin_model;
use crate::error::Result;
use crate::http::{Listening, RestApi, serve};
use crate::model::{Model, Payload, Reply, RequestContext};
use crate::{DataPlane, ModelRegistry};

fn classify(head: &str) -> &'static str {
    match parse(head.as_bytes()) {
        Parsed::Complete(_) => "fast",
        Parsed::Partial => "partial",
        Parsed::NotOurs => "hyper",
    }
}

#[test]
fn plain_http11_requests_are_fast_and_everything_else_goes_to_hyper() {
    let post = "POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";
    let Parsed::Complete(head) = parse(post.as_bytes()) else {
        panic!("a plain POST is fast");
    };
    assert_eq!((head.len, head.body_len), (post.len() - 2, 2));
    assert_eq!(head.count, 2);
    let cases = [
        ("GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n", "fast"),
        ("GET / HTTP/1.1\r\ncontent-length: 0\r\n\r\n", "fast"),
        ("POST / HTTP/1.1\r\nContent-Le", "partial"),
        ("", "partial"),
        ("GET / HTTP/1.0\r\n\r\n", "hyper"),
        ("HEAD / HTTP/1.1\r\n\r\n", "hyper"),
        ("PUT / HTTP/1.1\r\n\r\n", "hyper"),
        ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "hyper"),
        (
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "hyper",
        ),
        (
            "POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
            "hyper",
        ),
        (
            "GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n",
            "hyper",
        ),
        ("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", "hyper"),
        (
            "POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n",
            "hyper",
        ),
        ("POST / HTTP/1.1\r\nContent-Length: +2\r\n\r\n", "hyper"),
        ("POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", "hyper"),
        (
            "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
            "hyper",
        ),
        ("garbage\r\n\r\n", "hyper"),
    ];
    for (head, expected) in cases {
        assert_eq!(classify(head), expected, "{head:?}");
    }
    let too_long = format!(
        "POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
        FAST_BODY_MAX + 1
    );
    assert_eq!(classify(&too_long), "hyper");
    let many = format!("GET / HTTP/1.1\r\n{}\r\n", "a: b\r\n".repeat(40));
    assert_eq!(classify(&many), "hyper");
    let endless = format!("GET / HTTP/1.1\r\nx: {}", "y".repeat(MAX_HEAD));
    assert_eq!(classify(&endless), "hyper");
}

/// Sleeps, counting the predictions that finished and those dropped midway.
struct SlowModel {
    delay: Duration,
    finished: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
}

struct CountDrop(Arc<AtomicUsize>, bool);

impl Drop for CountDrop {
    fn drop(&mut self) {
        if !self.1 {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[async_trait]
impl Model for SlowModel {
    fn name(&self) -> &str {
        "slow"
    }

    fn metadata(&self) -> ModelMetadata {
        ModelMetadata {
            name: "slow".into(),
            versions: vec![],
            platform: "test".into(),
            inputs: vec![],
            outputs: vec![],
        }
    }

    async fn predict(&self, payload: Payload, _ctx: &RequestContext) -> Result<Reply> {
        let mut guard = CountDrop(self.dropped.clone(), false);
        tokio::time::sleep(self.delay).await;
        guard.1 = true;
        self.finished.fetch_add(1, Ordering::SeqCst);
        let Payload::V1(body) = payload else {
            unreachable!("the tests send V1")
        };
        Ok(Reply::V1(
            serde_json::json!({"predictions": body["instances"]}),
        ))
    }
}

struct Harness {
    addr: SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
    finished: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
}

async fn start(keep_alive: Duration, delay: Duration) -> Harness {
    let registry = Arc::new(ModelRegistry::new(None));
    let (finished, dropped) = (Arc::default(), Arc::default());
    registry.register(builtin_model("echo").unwrap());
    registry.register(Arc::new(SlowModel {
        delay,
        finished: Arc::clone(&finished),
        dropped: Arc::clone(&dropped),
    }));
    let metadata = ServerMetadata {
        name: "test".into(),
        version: "0".into(),
        extensions: vec![],
    };
    let api = Arc::new(RestApi {
        dataplane: Arc::new(DataPlane::new(registry, metadata, false)),
        max_request_bytes: 4 * FAST_BODY_MAX,
        access_log: false,
        body_read_timeout: Duration::from_secs(30),
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let how = Listening {
        tls: None,
        keep_alive,
        drain: Duration::from_secs(5),
        fast_path: true,
        limits: crate::conn::ConnectionLimits::default(),
    };
    tokio::spawn(serve(listener, api, how, stopped));
    Harness {
        addr,
        stop,
        finished,
        dropped,
    }
}

fn post(path: &str, body: &str, extra: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// A response off the connection: (status, lower-cased head, body).
struct Answer {
    status: u16,
    head: String,
    date: Option<String>,
    body: String,
}

async fn answer(conn: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Answer> {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut resp = httparse::Response::new(&mut headers);
        if let Ok(httparse::Status::Complete(n)) = resp.parse(buf) {
            let status = resp.code.unwrap();
            let len = resp
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .map_or(0, |h| {
                    std::str::from_utf8(h.value).unwrap().parse().unwrap()
                });
            let date = resp
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("date"))
                .map(|h| String::from_utf8_lossy(h.value).into_owned());
            if buf.len() >= n + len {
                let head = String::from_utf8_lossy(&buf[..n]).to_lowercase();
                let body = String::from_utf8_lossy(&buf[n..n + len]).into_owned();
                buf.drain(..n + len);
                return Some(Answer {
                    status,
                    head,
                    date,
                    body,
                });
            }
        }
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut chunk))
            .await
            .expect("an answer within 5 s")
            .unwrap();
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Whether the server closes the connection within `within`.
async fn closed_within(conn: &mut TcpStream, within: Duration) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(within, conn.read(&mut byte)).await,
        Ok(Ok(0) | Err(_))
    )
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order_with_length_and_date() {
    let h = start(Duration::from_secs(60), Duration::ZERO).await;
    let mut conn = TcpStream::connect(h.addr).await.unwrap();
    let mut all = post("/v1/models/echo:predict", r#"{"instances":[1]}"#, "");
    all += &post("/v1/models/echo:predict", r#"{"instances":[2,3]}"#, "");
    all += "GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n";
    conn.write_all(all.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let first = answer(&mut conn, &mut buf).await.unwrap();
    assert_eq!(
        (first.status, first.body.as_str()),
        (200, r#"{"predictions":[1]}"#)
    );
    assert!(
        first.head.contains("content-length: 19\r\n"),
        "{}",
        first.head
    );
    let date = first.date.expect("a date header");
    assert!(httpdate::parse_http_date(&date).is_ok(), "{date}");
    assert!(first.head.contains("x-request-id: "), "{}", first.head);
    let second = answer(&mut conn, &mut buf).await.unwrap();
    assert_eq!(second.body, r#"{"predictions":[2,3]}"#);
    let third = answer(&mut conn, &mut buf).await.unwrap();
    assert_eq!(
        (third.status, third.body.as_str()),
        (200, r#"{"live":true}"#)
    );
    // Errors keep the connection: a bad body, then a good request.
    conn.write_all(post("/v1/models/echo:predict", "{", "").as_bytes())
        .await
        .unwrap();
    let bad = answer(&mut conn, &mut buf).await.unwrap();
    assert_eq!(bad.status, 400);
    assert!(bad.body.starts_with(r#"{"error":"#), "{}", bad.body);
    conn.write_all(b"GET /v2/health/live HTTP/1.1\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(answer(&mut conn, &mut buf).await.unwrap().status, 200);
}

#[tokio::test]
async fn hyper_takes_over_a_connection_at_its_first_unusual_request() {
    let h = start(Duration::from_secs(60), Duration::ZERO).await;
    let mut conn = TcpStream::connect(h.addr).await.unwrap();
    let mut buf = Vec::new();
    conn.write_all(post("/v1/models/echo:predict", r#"{"instances":[1]}"#, "").as_bytes())
        .await
        .unwrap();
    assert_eq!(
        answer(&mut conn, &mut buf).await.unwrap().body,
        r#"{"predictions":[1]}"#
    );
    // Chunked, in two writes: the first has only part of the head.
    let chunked = "POST /v1/models/echo:predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n11\r\n{\"instances\":[2]}\r\n0\r\n\r\n";
    conn.write_all(&chunked.as_bytes()[..20]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    conn.write_all(&chunked.as_bytes()[20..]).await.unwrap();
    let by_hyper = answer(&mut conn, &mut buf).await.unwrap();
    assert_eq!(by_hyper.body, r#"{"predictions":[2]}"#);
    assert!(by_hyper.head.contains("date: "), "{}", by_hyper.head);
    // The rest of the connection stays with hyper, and works.
    conn.write_all(post("/v1/models/echo:predict", r#"{"instances":[3]}"#, "").as_bytes())
        .await
        .unwrap();
    assert_eq!(
        answer(&mut conn, &mut buf).await.unwrap().body,
        r#"{"predictions":[3]}"#
    );

    // A fast request and a chunked one in a single write: the bytes read
    // past the first go to hyper with the connection.
    let mut conn = TcpStream::connect(h.addr).await.unwrap();
    let both = post("/v1/models/echo:predict", r#"{"instances":[5]}"#, "") + chunked;
    conn.write_all(both.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    assert_eq!(
        answer(&mut conn, &mut buf).await.unwrap().body,
        r#"{"predictions":[5]}"#
    );
    assert_eq!(
        answer(&mut conn, &mut buf).await.unwrap().body,
        r#"{"predictions":[2]}"#
    );

    // A target httparse takes and `http` refuses (an unclosed IPv6
    // bracket) after a good request: the good one is answered by the fast
    // path, the other by hyper, which refuses it too.
    let target = "http://[::1/v2/health/live";
    assert!(http::Uri::try_from(target).is_err());
    let mut conn = TcpStream::connect(h.addr).await.unwrap();
    let both = format!("GET /v2/health/live HTTP/1.1\r\n\r\nGET {target} HTTP/1.1\r\n\r\n");
    conn.write_all(both.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    assert_eq!(answer(&mut conn, &mut buf).await.unwrap().status, 200);
    let refused = answer(&mut conn, &mut buf).await.unwrap();
    assert_eq!(refused.status, 400, "{}", refused.body);

    // Expect: 100-continue, as curl sends for large bodies.
    let mut conn = TcpStream::connect(h.addr).await.unwrap();
    let body = r#"{"instances":[4]}"#;
    let head = post("/v1/models/echo:predict", "", "Expect: 100-continue\r\n").replace(
        "Content-Length: 0",
        &format!("Content-Length: {}", body.len()),
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    assert_eq!(answer(&mut conn, &mut buf).await.unwrap().status, 100);
    conn.write_all(body.as_bytes()).await.unwrap();
    assert_eq!(
        answer(&mut conn, &mut buf).await.unwrap().body,
        r#"{"predictions":[4]}"#
    );

    // A body larger than the fast path reads streams through hyper.
    let big = format!("{{\"instances\":[{}1]}}", "1,".repeat(FAST_BODY_MAX / 2));
    let mut conn = TcpStream::connect(h.addr).await.unwrap();
    conn.write_all(post("/v1/models/echo:predict", &big, "").as_bytes())
        .await
        .unwrap();
    let mut buf = Vec::new();
    let reply = answer(&mut conn, &mut buf).await.unwrap();
    assert_eq!((reply.status, reply.body.len()), (200, big.len() + 2));

    // HTTP/1.0: hyper answers and closes.
    let mut conn = TcpStream::connect(h.addr).await.unwrap();
    conn.write_all(b"GET /v2/health/live HTTP/1.0\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    assert_eq!(answer(&mut conn, &mut buf).await.unwrap().status, 200);
    assert!(closed_within(&mut conn, Duration::from_secs(2)).await);
}

#[tokio::test]
async fn idle_and_stalled_connections_close_after_the_keep_alive_time() {
    let h = start(Duration::from_millis(300), Duration::ZERO).await;
    let mut conn = TcpStream::connect(h.addr).await.unwrap();
    let mut buf = Vec::new();
    // Requests spaced under the keep-alive time keep the connection open.
    for _ in 0..3 {
        conn.write_all(b"GET /v2/health/live HTTP/1.1\r\n\r\n")
            .await
            .unwrap();
        assert_eq!(answer(&mut conn, &mut buf).await.unwrap().status, 200);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(closed_within(&mut conn, Duration::from_secs(2)).await);
    // Half a head, then nothing: closed too.
    let mut stalled = TcpStream::connect(h.addr).await.unwrap();
    stalled.write_all(b"GET /v2/health").await.unwrap();
    assert!(closed_within(&mut stalled, Duration::from_secs(2)).await);
    // A body that stops arriving: closed too.
    let mut stalled = TcpStream::connect(h.addr).await.unwrap();
    let head = post("/v1/models/echo:predict", "{}", "").replace("Length: 2", "Length: 20");
    stalled.write_all(head.as_bytes()).await.unwrap();
    assert!(closed_within(&mut stalled, Duration::from_secs(2)).await);
}

#[tokio::test]
async fn a_client_that_leaves_cancels_its_request() {
    let h = start(Duration::from_secs(60), Duration::from_secs(3)).await;
    let mut conn = TcpStream::connect(h.addr).await.unwrap();
    conn.write_all(post("/v1/models/slow:predict", r#"{"instances":[1]}"#, "").as_bytes())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(conn);
    for _ in 0..50 {
        if h.dropped.load(Ordering::SeqCst) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        h.dropped.load(Ordering::SeqCst),
        1,
        "the prediction is dropped"
    );
    assert_eq!(h.finished.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn shutdown_answers_the_request_in_flight_and_closes_idle_connections() {
    let h = start(Duration::from_secs(60), Duration::from_millis(400)).await;
    let mut busy = TcpStream::connect(h.addr).await.unwrap();
    let mut idle = TcpStream::connect(h.addr).await.unwrap();
    let mut buf = Vec::new();
    idle.write_all(b"GET /v2/health/live HTTP/1.1\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(answer(&mut idle, &mut buf).await.unwrap().status, 200);
    busy.write_all(post("/v1/models/slow:predict", r#"{"instances":[7]}"#, "").as_bytes())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _ = h.stop.send(true);
    assert!(closed_within(&mut idle, Duration::from_millis(300)).await);
    let mut buf = Vec::new();
    let last = answer(&mut busy, &mut buf).await.unwrap();
    assert_eq!(
        (last.status, last.body.as_str()),
        (200, r#"{"predictions":[7]}"#)
    );
    assert!(last.head.contains("connection: close\r\n"), "{}", last.head);
    assert!(closed_within(&mut busy, Duration::from_secs(1)).await);
    assert_eq!(h.finished.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_request_arriving_at_shutdown_is_answered_even_when_hyper_takes_it() {
    let h = start(Duration::from_secs(60), Duration::ZERO).await;
    let mut conn = TcpStream::connect(h.addr).await.unwrap();
    conn.write_all(b"POST /v1/models/echo:predict HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _ = h.stop.send(true);
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The rest of the head makes it a chunked request: hyper's to answer.
    conn.write_all(b"Transfer-Encoding: chunked\r\n\r\n11\r\n{\"instances\":[8]}\r\n0\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let last = answer(&mut conn, &mut buf)
        .await
        .expect("an answer, not a reset");
    assert_eq!(
        (last.status, last.body.as_str()),
        (200, r#"{"predictions":[8]}"#)
    );
    assert!(last.head.contains("connection: close\r\n"), "{}", last.head);
    assert!(closed_within(&mut conn, Duration::from_secs(1)).await);
}
