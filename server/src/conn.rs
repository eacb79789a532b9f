//! What one client may hold open, shared by the REST and gRPC listeners: a
//! cap on open connections per listener (a permit each, shed beyond it), and
//! an idle limit for connections that may sit open with nothing in flight
//! (h2c and gRPC, which HTTP/1's keep-alive timeout does not cover): once a
//! connection has had no request in flight for that long, its reads end and
//! the connection closes.
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// The bounds of `--max_connections` and its neighbours (cli::LimitFlags).
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub body_read_timeout: Duration,
    pub max_connection_idle: Duration,
    pub max_concurrent_streams: u32,
    pub grpc_connection_buffer: usize,
    pub drain_grace: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 4096,
            body_read_timeout: Duration::from_secs(60),
            max_connection_idle: Duration::from_secs(300),
            max_concurrent_streams: 100,
            grpc_connection_buffer: 64 * 1024 * 1024,
            drain_grace: Duration::from_secs(3),
        }
    }
}

/// `wanted` connections per listener, lowered so that both listeners at
/// their cap leave room under the open-files limit for model files, the
/// upstream pool and the accept loop itself (a full descriptor table stops
/// `accept`, health probes included).
pub fn fit_open_files(wanted: usize) -> usize {
    let Some(limit) = open_files_limit() else {
        return wanted;
    };
    let room = (limit.saturating_sub(128) / 2).max(16);
    if wanted > room {
        tracing::warn!(
            wanted,
            open_files_limit = limit,
            using = room,
            "--max_connections lowered to fit the open-files limit (ulimit -n)"
        );
    }
    wanted.min(room)
}

/// The soft RLIMIT_NOFILE, as /proc/self/limits shows it (Linux).
fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// At most `max` open connections on one listener.
#[derive(Clone)]
pub struct ConnectionCap {
    permits: Arc<Semaphore>,
}

impl ConnectionCap {
    pub fn new(max: usize) -> Self {
        ConnectionCap {
            permits: Arc::new(Semaphore::new(max.clamp(1, Semaphore::MAX_PERMITS))),
        }
    }

    /// A permit for one more connection, or `None` when the listener is full.
    pub fn try_admit(&self) -> Option<OwnedSemaphorePermit> {
        self.permits.clone().try_acquire_owned().ok()
    }
}

/// Requests in flight on one connection, and since when it has had none.
pub struct Activity {
    in_flight: AtomicUsize,
    idle_since: Mutex<Instant>,
    /// Unfinished gRPC request bytes on this connection.
    buffered: Arc<AtomicUsize>,
}

impl Activity {
    pub fn new() -> Arc<Self> {
        Arc::new(Activity {
            in_flight: AtomicUsize::new(0),
            idle_since: Mutex::new(Instant::now()),
            buffered: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// The connection's budget of unfinished request bytes.
    pub fn buffer_budget(&self) -> crate::grpc_intake::BufferBudget {
        crate::grpc_intake::BufferBudget::new(self.buffered.clone())
    }

    /// Counts a request until the guard drops.
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(self.clone())
    }

    /// When the connection becomes idle past `limit`, or `None` while a
    /// request is in flight.
    fn idle_deadline(&self, limit: Duration) -> Option<Instant> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let since = *self.idle_since.lock().unwrap_or_else(|e| e.into_inner());
        Some(since + limit)
    }
}

/// One request in flight on a connection.
pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            *self.0.idle_since.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        }
    }
}

/// What a gRPC request finds in its extensions: its connection's activity.
#[derive(Clone)]
pub struct ConnActivity(pub Arc<Activity>);

/// A connection that ends (reads return end of file) once idle past its
/// limit, and gives its listener permit back when dropped.
pub struct Tracked<IO> {
    io: IO,
    activity: Arc<Activity>,
    idle_limit: Duration,
    timer: Pin<Box<Sleep>>,
    _permit: OwnedSemaphorePermit,
}

impl<IO> Tracked<IO> {
    pub fn new(io: IO, permit: OwnedSemaphorePermit, idle_limit: Duration) -> Self {
        // A year is forever here, and `Instant + limit` cannot overflow.
        let idle_limit = idle_limit.min(Duration::from_secs(365 * 24 * 3600));
        Tracked {
            io,
            activity: Activity::new(),
            idle_limit,
            timer: Box::pin(tokio::time::sleep(idle_limit)),
            _permit: permit,
        }
    }

    pub fn activity(&self) -> &Arc<Activity> {
        &self.activity
    }

    /// Ready (true) once the connection has been idle past its limit.
    fn poll_idle_out(&mut self, cx: &mut Context<'_>) -> bool {
        loop {
            if self.timer.as_mut().poll(cx).is_pending() {
                return false;
            }
            let now = Instant::now();
            match self.activity.idle_deadline(self.idle_limit) {
                Some(deadline) if deadline <= now => return true,
                Some(deadline) => self.timer.as_mut().reset(deadline),
                // Busy: look again a whole limit later.
                None => self.timer.as_mut().reset(now + self.idle_limit),
            }
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Tracked<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Pending if this.poll_idle_out(cx) => {
                tracing::debug!(idle = ?this.idle_limit, "closing an idle connection");
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Tracked<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

impl tonic::transport::server::Connected for Tracked<TcpStream> {
    type ConnectInfo = ConnActivity;

    fn connect_info(&self) -> ConnActivity {
        ConnActivity(self.activity.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_ends_and_a_busy_one_does_not() {
        let cap = ConnectionCap::new(1);
        let (client, server) = tokio::io::duplex(64);
        let permit = cap.try_admit().unwrap();
        assert!(
            cap.try_admit().is_none(),
            "one connection fills a cap of one"
        );
        let mut conn = Tracked::new(server, permit, Duration::from_secs(10));
        let busy = conn.activity().begin();
        let mut byte = [0u8; 1];
        // In flight: 25 s of silence do not end the connection.
        let read = tokio::time::timeout(Duration::from_secs(25), conn.read(&mut byte)).await;
        assert!(read.is_err(), "a busy connection is not idle");
        drop(busy);
        let started = Instant::now();
        assert_eq!(conn.read(&mut byte).await.unwrap(), 0, "idle: end of file");
        assert_eq!(started.elapsed(), Duration::from_secs(10));
        drop(conn);
        assert!(cap.try_admit().is_some(), "the permit comes back");
        drop(client);
    }

    #[tokio::test(start_paused = true)]
    async fn data_passes_through() {
        let cap = ConnectionCap::new(4);
        let (mut client, server) = tokio::io::duplex(64);
        let mut conn = Tracked::new(server, cap.try_admit().unwrap(), Duration::from_secs(10));
        client.write_all(b"ping").await.unwrap();
        let mut got = [0u8; 4];
        conn.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"ping");
        conn.write_all(b"pong").await.unwrap();
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"pong");
    }
}
