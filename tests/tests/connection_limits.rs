//! What one client can hold open, against the real binary: stalled bodies on
//! every HTTP path, idle h2c and gRPC connections, the connection cap, and
//! gRPC messages that promise more than they send.
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper_util::rt::{TokioExecutor, TokioIo};
use infergate_tests::Server;

/// Everything the server sends until it closes, or until `limit` passes.
fn read_until_closed(conn: &mut TcpStream, limit: Duration) -> (String, bool) {
    conn.set_read_timeout(Some(limit)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = loop {
        match conn.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
            Err(_) => break false,
        }
    };
    (String::from_utf8_lossy(&got).into_owned(), closed)
}

fn start(extra: &[&str]) -> Server {
    let mut args = vec!["--builtin_models", "simple,echo"];
    args.extend_from_slice(extra);
    Server::infergate(&args)
}

#[test]
fn stalled_bodies_get_408_on_every_http_path() {
    let s = start(&[
        "--body_read_timeout_seconds",
        "1",
        "--timeout-keep-alive",
        "30",
    ]);
    let heads = [
        // hyper: chunked, one chunk, then nothing.
        "POST /v2/models/echo/infer HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"inp\r\n",
        // hyper: Expect: 100-continue, then a part of the body.
        "POST /v2/models/echo/infer HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 50\r\n\r\n{\"in",
        // hyper: a body over the fast path's 1 MiB.
        "POST /v2/models/echo/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n{\"in",
    ];
    for head in heads {
        let mut conn = TcpStream::connect(s.http).unwrap();
        conn.write_all(head.as_bytes()).unwrap();
        let started = Instant::now();
        let (answer, closed) = read_until_closed(&mut conn, Duration::from_secs(10));
        assert!(answer.contains("408 Request Timeout"), "{head:?}: {answer}");
        assert!(answer.contains("--body_read_timeout_seconds"), "{answer}");
        assert!(closed, "{head:?}: the connection must close");
        assert!(started.elapsed() < Duration::from_secs(5), "{head:?}");
    }
    // The fast path: a body trickled a byte every 300 ms resets no deadline.
    let mut conn = TcpStream::connect(s.http).unwrap();
    conn.write_all(b"POST /v2/models/echo/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n")
        .unwrap();
    let started = Instant::now();
    for _ in 0..8 {
        std::thread::sleep(Duration::from_millis(300));
        if conn.write_all(b" ").is_err() {
            break;
        }
    }
    let (answer, closed) = read_until_closed(&mut conn, Duration::from_secs(10));
    assert!(answer.contains("408 Request Timeout"), "{answer}");
    assert!(closed);
    assert!(started.elapsed() < Duration::from_secs(5));
}

fn h2_preface(addr: SocketAddr) -> TcpStream {
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").unwrap();
    // An empty SETTINGS frame.
    conn.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).unwrap();
    conn
}

#[test]
fn idle_h2c_and_grpc_connections_are_closed() {
    let s = start(&["--max_connection_idle_seconds", "1"]);
    for addr in [s.http, s.grpc.unwrap()] {
        let mut conn = h2_preface(addr);
        let started = Instant::now();
        let (_, closed) = read_until_closed(&mut conn, Duration::from_secs(10));
        assert!(closed, "{addr}: an idle h2 connection must be closed");
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_secs(5),
            "{addr}: closed after {took:?}"
        );
    }
}

#[test]
fn connections_beyond_the_cap_are_shed_and_their_room_comes_back() {
    let s = start(&["--max_connections", "2"]);
    let a = TcpStream::connect(s.http).unwrap();
    let b = TcpStream::connect(s.http).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let mut c = TcpStream::connect(s.http).unwrap();
    let (answer, closed) = read_until_closed(&mut c, Duration::from_secs(5));
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("--max_connections"), "{answer}");
    assert!(closed);
    drop((a, b));
    std::thread::sleep(Duration::from_millis(300));
    let mut d = TcpStream::connect(s.http).unwrap();
    d.write_all(b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let (answer, _) = read_until_closed(&mut d, Duration::from_secs(5));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

type Chunks = tokio::sync::mpsc::Sender<Result<Frame<Bytes>, std::convert::Infallible>>;

type H2 = hyper::client::conn::http2::SendRequest<
    StreamBody<
        tokio_stream::wrappers::ReceiverStream<Result<Frame<Bytes>, std::convert::Infallible>>,
    >,
>;

/// One h2 connection that several calls can share.
async fn h2_connection(addr: SocketAddr) -> H2 {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .unwrap();
    tokio::spawn(conn);
    send
}

/// A raw gRPC ModelInfer call whose body the test writes frame by frame.
async fn open_model_infer(
    addr: SocketAddr,
) -> (
    Chunks,
    tokio::task::JoinHandle<http::Response<hyper::body::Incoming>>,
) {
    open_call(h2_connection(addr).await, addr).await
}

/// A raw gRPC ModelInfer call on `send`'s connection.
async fn open_call(
    mut send: H2,
    addr: SocketAddr,
) -> (
    Chunks,
    tokio::task::JoinHandle<http::Response<hyper::body::Incoming>>,
) {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let body = StreamBody::new(tokio_stream::wrappers::ReceiverStream::new(rx));
    let req = http::Request::post(format!(
        "http://{addr}/inference.GRPCInferenceService/ModelInfer"
    ))
    .header("content-type", "application/grpc")
    .header("te", "trailers")
    .body(body)
    .unwrap();
    let answer = tokio::spawn(async move { send.send_request(req).await.unwrap() });
    (tx, answer)
}

/// The grpc-status of an answer, from its headers (trailers-only) or trailers.
async fn grpc_status(resp: http::Response<hyper::body::Incoming>) -> (String, String) {
    let status = |h: &http::HeaderMap| {
        h.get("grpc-status").map(|v| {
            (
                v.to_str().unwrap().to_string(),
                h.get("grpc-message")
                    .map_or("", |m| m.to_str().unwrap())
                    .to_string(),
            )
        })
    };
    if let Some(s) = status(resp.headers()) {
        return s;
    }
    let trailers = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .trailers()
        .cloned();
    status(&trailers.unwrap_or_default()).unwrap_or_default()
}

#[tokio::test]
async fn a_grpc_message_that_promises_too_much_is_refused_before_it_arrives() {
    let s = start(&["--grpc_max_receive_message_length", "1048576"]);
    let (tx, answer) = open_model_infer(s.grpc.unwrap()).await;
    // Prefix: not compressed, 8 MB; then one byte, and the stream stays open.
    let mut prefix = vec![0u8];
    prefix.extend_from_slice(&(8u32 << 20).to_be_bytes());
    prefix.push(0x0a);
    tx.send(Ok(Frame::data(Bytes::from(prefix)))).await.unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(5), answer)
        .await
        .expect("refused at once, not when the bytes arrive")
        .unwrap();
    let (code, message) = grpc_status(resp).await;
    assert_eq!(code, "8", "RESOURCE_EXHAUSTED: {message}");
    assert!(
        message.contains("--grpc_max_receive_message_length"),
        "{message}"
    );
    drop(tx);
}

#[tokio::test]
async fn a_grpc_message_that_stops_arriving_gets_deadline_exceeded() {
    let s = start(&["--body_read_timeout_seconds", "1"]);
    let (tx, answer) = open_model_infer(s.grpc.unwrap()).await;
    let mut prefix = vec![0u8];
    prefix.extend_from_slice(&100u32.to_be_bytes());
    tx.send(Ok(Frame::data(Bytes::from(prefix)))).await.unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(5), answer)
        .await
        .unwrap()
        .unwrap();
    let (code, message) = grpc_status(resp).await;
    assert_eq!(code, "4", "DEADLINE_EXCEEDED: {message}");
    drop(tx);
}

#[test]
fn transparent_huge_pages_are_off_so_freed_memory_goes_back() {
    let s = start(&[]);
    let status = std::fs::read_to_string(format!("/proc/{}/status", s.pid())).unwrap();
    let thp = status.lines().find(|l| l.starts_with("THP_enabled"));
    // Kernels before 5.0 do not show the field; then there is nothing to check.
    if let Some(line) = thp {
        assert!(line.ends_with('0'), "{line}");
    }
}

#[tokio::test]
async fn one_connection_cannot_hold_more_unfinished_bytes_than_its_budget() {
    let s = start(&[
        "--grpc_max_receive_message_length",
        "4000000",
        "--grpc_max_connection_buffer_bytes",
        "1000000",
    ]);
    let addr = s.grpc.unwrap();
    let conn = h2_connection(addr).await;
    // Three streams on one connection, each promising 2 MB and sending
    // 400 kB of it: together they pass the connection's 1 MB budget. The
    // frames interleave, so the stream refused is whichever one's bytes
    // arrive when the budget runs out, not necessarily the last opened.
    let mut open = Vec::new();
    for _ in 0..3 {
        let (tx, answer) = open_call(conn.clone(), addr).await;
        let mut prefix = vec![0u8];
        prefix.extend_from_slice(&2_000_000u32.to_be_bytes());
        tx.send(Ok(Frame::data(Bytes::from(prefix)))).await.unwrap();
        for _ in 0..4 {
            tx.send(Ok(Frame::data(Bytes::from(vec![0u8; 100_000]))))
                .await
                .unwrap();
        }
        open.push((tx, answer));
        // One stream after the other, so that the streams' frames mostly
        // do not interleave (then only the third passes the budget).
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let refused_by = Instant::now() + Duration::from_secs(5);
    let refused = loop {
        if let Some(i) = open.iter().position(|(_, answer)| answer.is_finished()) {
            break i;
        }
        assert!(
            Instant::now() < refused_by,
            "the stream over budget is answered at once"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let (_tx, answer) = open.remove(refused);
    let resp = answer.await.unwrap();
    let (code, message) = grpc_status(resp).await;
    assert_eq!(code, "8", "RESOURCE_EXHAUSTED: {message}");
    assert!(
        message.contains("--grpc_max_connection_buffer_bytes"),
        "{message}"
    );
    // Streams that fit the budget still wait for the rest of their
    // messages. Which streams pass the budget depends on how their frames
    // interleave on the connection (a second may be refused while the
    // first's bytes are still held), so: any other answer is the same
    // refusal, and at least one stream is still waiting.
    assert!(
        open.iter().any(|(_, answer)| !answer.is_finished()),
        "a stream within the budget was answered"
    );
    for (_tx, answer) in open {
        if answer.is_finished() {
            let (code, message) = grpc_status(answer.await.unwrap()).await;
            assert_eq!(code, "8", "RESOURCE_EXHAUSTED: {message}");
        }
    }
}
