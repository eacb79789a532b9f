//! A bounded, non-blocking log writer. A thread that logs only copies its
//! line into a shared buffer (a short critical section); a logging thread
//! writes the per-request lines (latency and access log) out every
//! [`INTERVAL`], or sooner once the buffer is half full, and wakes at once
//! for any other line (start-up, warnings, errors: rare, and wanted soon).
//! So a per-request line costs no system call and wakes no thread (tracing-appender's
//! writer, tried first, wakes its thread for nearly every line while it
//! keeps up; docs/benchmarks.md, "Latency logging"). A line that does not
//! fit is dropped and counted.
use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing::Metadata;
use tracing_subscriber::fmt::MakeWriter;

/// How long a line may wait before it is written.
const INTERVAL: Duration = Duration::from_millis(50);

/// The targets of the lines written once per request, which wait for the
/// interval; every other line is written at once.
const PER_REQUEST: [&str; 2] = ["infergate::latency", crate::access_log::TARGET];

struct Shared {
    state: Mutex<State>,
    /// Signalled when the buffer passes half its limit, and at shutdown.
    wake: Condvar,
    limit: usize,
    dropped: AtomicU64,
}

#[derive(Default)]
struct State {
    buf: Vec<u8>,
    /// A line that should not wait for the interval is in `buf`.
    urgent: bool,
    stop: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Only appends and swaps happen under the lock: never inconsistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The handle the log subscriber writes through.
#[derive(Clone)]
pub struct LogWriter(Arc<Shared>);

/// Stops the logging thread when dropped, after it wrote out every line.
pub struct FlushGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// A writer to `out` that holds at most `limit` bytes of unwritten lines.
pub fn log_writer(
    out: impl Write + Send + 'static,
    limit: usize,
) -> io::Result<(LogWriter, FlushGuard)> {
    let shared = Arc::new(Shared {
        state: Mutex::new(State::default()),
        wake: Condvar::new(),
        limit,
        dropped: AtomicU64::new(0),
    });
    let worker = shared.clone();
    let thread = std::thread::Builder::new()
        .name("infergate-log".into())
        .spawn(move || write_out(&worker, out))?;
    Ok((
        LogWriter(shared.clone()),
        FlushGuard {
            shared,
            thread: Some(thread),
        },
    ))
}

/// The logging thread: swaps the filled buffer for an empty one and writes
/// it with the lock released, until stopped and empty.
fn write_out(shared: &Shared, mut out: impl Write) {
    let mut spare = Vec::new();
    loop {
        let mut state = shared.lock();
        if !state.stop && !state.urgent && state.buf.len() < shared.limit / 2 {
            state = shared
                .wake
                .wait_timeout(state, INTERVAL)
                .map_or_else(|e| e.into_inner().0, |(s, _)| s);
        }
        let stop = state.stop;
        state.urgent = false;
        std::mem::swap(&mut state.buf, &mut spare);
        drop(state);
        if !spare.is_empty() {
            // Nowhere to report a failed write to stderr; the lines are lost.
            let _ = out.write_all(&spare).and_then(|()| out.flush());
            spare.clear();
        }
        if stop && shared.lock().buf.is_empty() {
            return;
        }
    }
}

impl LogWriter {
    /// Lines dropped so far because the buffer was full.
    pub fn dropped(&self) -> u64 {
        self.0.dropped.load(Ordering::Relaxed)
    }
}

/// Writes one line into the buffer; made per event by the subscriber.
pub struct LineWriter<'a> {
    shared: &'a Shared,
    urgent: bool,
}

impl Write for LineWriter<'_> {
    /// Takes one whole line (the subscriber writes each event at once).
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        let shared = self.shared;
        let mut state = shared.lock();
        if state.buf.len() + line.len() > shared.limit {
            drop(state);
            shared.dropped.fetch_add(1, Ordering::Relaxed);
            return Ok(line.len());
        }
        let was_below_half = state.buf.len() < shared.limit / 2;
        state.buf.extend_from_slice(line);
        let wake = self.urgent || (was_below_half && state.buf.len() >= shared.limit / 2);
        state.urgent |= self.urgent;
        drop(state);
        if wake {
            shared.wake.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            shared: &self.0,
            urgent: true,
        }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        LineWriter {
            shared: &self.0,
            urgent: !PER_REQUEST.contains(&meta.target()),
        }
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.wake.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `Write` whose bytes the test can read.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_is_written_by_the_time_the_guard_is_dropped() {
        let sink = Sink::default();
        let (w, guard) = log_writer(sink.clone(), 1 << 20).unwrap();
        for i in 0..1000 {
            w.make_writer()
                .write_all(format!("line {i}\n").as_bytes())
                .unwrap();
        }
        drop(guard);
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 1000);
        assert!(text.ends_with("line 999\n"));
        assert_eq!(w.dropped(), 0);
    }

    /// A writer that blocks until released (stderr read by nobody); the
    /// flags are (entered, released).
    struct Stuck(Arc<(Mutex<(bool, bool)>, Condvar)>, Sink);

    impl Write for Stuck {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            let (flags, cv) = &*self.0;
            let mut f = flags.lock().unwrap();
            f.0 = true;
            cv.notify_all();
            while !f.1 {
                f = cv.wait(f).unwrap();
            }
            self.1.write(b)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_that_do_not_fit_are_dropped_and_counted_without_blocking() {
        let gate = Arc::new((Mutex::new((false, false)), Condvar::new()));
        let sink = Sink::default();
        let (w, guard) = log_writer(Stuck(gate.clone(), sink.clone()), 100).unwrap();
        // The thread takes the first line and blocks writing it; the next
        // 100 bytes fit in the buffer, the rest are dropped at once.
        w.make_writer().write_all(b"first 10b\n").unwrap();
        let (flags, cv) = &*gate;
        let mut f = flags.lock().unwrap();
        while !f.0 {
            f = cv.wait(f).unwrap();
        }
        drop(f);
        for _ in 0..50 {
            w.make_writer().write_all(b"0123456789").unwrap();
        }
        assert_eq!(w.dropped(), 40);
        flags.lock().unwrap().1 = true;
        cv.notify_all();
        drop(guard);
        assert_eq!(sink.0.lock().unwrap().len(), 10 + 100);
    }
}
