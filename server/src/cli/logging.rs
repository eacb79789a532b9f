//! Logs to stderr, filtered by RUST_LOG (default `info`), as text or JSON.
//!
//! Lines go through a bounded non-blocking writer ([`log_writer`]): a
//! request's thread only copies its line into a buffer that a logging thread
//! writes out. KServe's latency log (one line per request, on by default)
//! written synchronously cost 17% of the throughput (docs/benchmarks.md,
//! "Latency logging"). When the buffer is full, new lines are dropped and
//! counted (`infergate_log_lines_dropped_total`) rather than slowing
//! requests down.
use std::io::IsTerminal;
use std::sync::OnceLock;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::Directive;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use super::log_writer::{FlushGuard, LogWriter, log_writer};
use super::{LogFormat, ServeFlags};
use crate::access_log;

/// Bytes of unwritten lines held before new ones are dropped: about a
/// second of a saturated server's latency log (40k lines of 200 bytes).
const BUFFER_BYTES: usize = 8 << 20;

static WRITER: OnceLock<LogWriter> = OnceLock::new();

/// Log lines dropped so far because the writer fell behind (0 when
/// [`init_logging`] did not set the writer up).
pub fn dropped_lines() -> u64 {
    WRITER.get().map_or(0, LogWriter::dropped)
}

/// Keeps the logging thread alive; dropping it writes out the buffered
/// lines. Hold it until the program exits.
#[must_use = "dropping the guard stops logging; keep it until exit"]
pub struct LogGuard(#[allow(dead_code)] Option<FlushGuard>);

/// Colour codes only for a person watching a terminal: a file, a pipe or a
/// container log gets plain text. `NO_COLOR` (no-color.org) turns it off too.
fn colour(out: &impl IsTerminal) -> bool {
    out.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

pub fn init_logging(flags: &ServeFlags) -> LogGuard {
    if !flags.configure_logging {
        return LogGuard(None);
    }
    let mut filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,ort=warn"));
    if !flags.enable_access_log {
        // Off in the filter, so that a disabled access log costs a request
        // one cached check and nothing else.
        if let Ok(off) = format!("{}=off", access_log::TARGET).parse::<Directive>() {
            filter = filter.add_directive(off);
        }
    }
    // Spans for OpenTelemetry (crate::otel) pass the filter only when they
    // are exported; otherwise making one is a disabled-callsite check.
    let export = crate::otel::configured();
    let trace = if export { "info" } else { "off" };
    if let Ok(d) = format!("{}={trace}", crate::otel::TARGET).parse::<Directive>() {
        filter = filter.add_directive(d);
    }
    let ansi = colour(&std::io::stderr());
    let (writer, guard) = match log_writer(std::io::stderr(), BUFFER_BYTES) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("infergate: cannot start the logging thread: {e}");
            return LogGuard(None);
        }
    };
    let _ = WRITER.set(writer.clone());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(writer);
    // A second init (an embedding program's) is not an error worth stopping for.
    let _ = match flags.log_format {
        LogFormat::Text => {
            let otel = export.then(crate::otel::layer).flatten();
            builder.finish().with(otel).try_init()
        }
        LogFormat::Json => {
            let otel = export.then(crate::otel::layer).flatten();
            builder.json().finish().with(otel).try_init()
        }
    };
    LogGuard(Some(guard))
}
