//! Prometheus metrics: the process-wide recorder and the series of the data
//! plane. The histogram names and the `model_name` label are those of
//! KServe's Python model server, so that existing dashboards work. Other
//! crates define and record their own series (the predictor its batch sizes,
//! the gateway its upstream retries) on this recorder; docs/metrics.md lists
//! them all.
use std::collections::BTreeMap;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, OnceLock, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use metrics::Unit;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const PREPROCESS_SECONDS: &str = "request_preprocess_seconds";
pub const PREDICT_SECONDS: &str = "request_predict_seconds";
pub const POSTPROCESS_SECONDS: &str = "request_postprocess_seconds";
pub const EXPLAIN_SECONDS: &str = "request_explain_seconds";
/// Requests answered, by model, protocol and outcome (HTTP status or gRPC code).
pub const REQUESTS_TOTAL: &str = "infergate_requests_total";
/// Log lines the non-blocking log writer dropped because it fell behind.
pub const LOG_LINES_DROPPED: &str = "infergate_log_lines_dropped_total";

/// Histograms whose name ends in this count things (rows, items), not
/// seconds, and get [`SIZE_BUCKETS`].
pub const SIZE_SUFFIX: &str = "_size";
const SIZE_BUCKETS: [f64; 10] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// Prometheus' default buckets, as the Python client uses them.
const BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

const UPKEEP_EVERY: Duration = Duration::from_secs(1);

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder on first use and returns its handle;
/// `None` when another recorder was installed first (an embedding program's).
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&BUCKETS)
                .ok()?
                .set_buckets_for_metric(Matcher::Suffix(SIZE_SUFFIX.into()), &SIZE_BUCKETS)
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            describe();
            // On the page from the start, at 0.
            metrics::counter!(LOG_LINES_DROPPED).absolute(0);
            Some(handle)
        })
        .as_ref()
}

/// HELP lines for the series this crate records.
fn describe() {
    let step = |what: &str| format!("Seconds spent in {what}, by model (KServe's name).");
    metrics::describe_histogram!(PREPROCESS_SECONDS, Unit::Seconds, step("preprocess"));
    metrics::describe_histogram!(PREDICT_SECONDS, Unit::Seconds, step("predict"));
    metrics::describe_histogram!(POSTPROCESS_SECONDS, Unit::Seconds, step("postprocess"));
    metrics::describe_histogram!(EXPLAIN_SECONDS, Unit::Seconds, step("explain"));
    metrics::describe_counter!(
        REQUESTS_TOTAL,
        "Inference requests answered, by model, protocol and outcome."
    );
    metrics::describe_counter!(
        LOG_LINES_DROPPED,
        "Log lines dropped because the log writer fell behind."
    );
}

/// The metrics page in Prometheus text format.
pub fn render() -> String {
    match prometheus() {
        Some(h) => {
            metrics::counter!(LOG_LINES_DROPPED).absolute(crate::cli::dropped_lines());
            h.run_upkeep();
            h.render()
        }
        None => String::new(),
    }
}

/// Drains histogram samples into their buckets every second while held;
/// its thread stops when this is dropped. Without it, samples queue up until
/// a scrape (about 50 bytes a request, measured), and without any scrape
/// for ever. A [`ModelRegistry`](crate::ModelRegistry) holds one.
pub struct Upkeep {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Upkeep {
    /// Starts the thread; a no-op when this crate's recorder is not installed.
    pub fn start() -> Upkeep {
        let (tx, rx) = mpsc::channel::<()>();
        let thread = prometheus().and_then(|handle| {
            let handle = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    // Ends when the sender is dropped (Disconnected).
                    while let Err(RecvTimeoutError::Timeout) = rx.recv_timeout(UPKEEP_EVERY) {
                        handle.run_upkeep();
                    }
                })
                .ok()
        });
        Upkeep {
            stop: Some(tx),
            thread,
        }
    }
}

impl Drop for Upkeep {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The per-model series every request touches, registered once: building a
/// labelled handle on each request would allocate and hash every time.
pub struct ModelMetrics {
    pub preprocess: metrics::Histogram,
    pub predict: metrics::Histogram,
    pub postprocess: metrics::Histogram,
    pub explain: metrics::Histogram,
    /// Successful requests by protocol ("v1", "v2", "grpc").
    ok: [(&'static str, &'static str, metrics::Counter); 3],
}

// A BTreeMap: a few names, compared directly, cost less per request than
// hashing the name (SipHash) on every lookup.
static MODELS: OnceLock<RwLock<BTreeMap<String, Arc<ModelMetrics>>>> = OnceLock::new();

/// The series of `model`, registered on first use.
pub fn for_model(model: &str) -> Arc<ModelMetrics> {
    if let Some(m) = registered(model) {
        return m;
    }
    let cache = MODELS.get_or_init(Default::default);
    // Handles made before the recorder exists would be no-ops for good.
    prometheus();
    let label = || model.to_string();
    let ok = |protocol: &'static str, outcome: &'static str| {
        let c = metrics::counter!(REQUESTS_TOTAL, "model_name" => label(), "protocol" => protocol, "outcome" => outcome);
        (protocol, outcome, c)
    };
    let m = Arc::new(ModelMetrics {
        preprocess: metrics::histogram!(PREPROCESS_SECONDS, "model_name" => label()),
        predict: metrics::histogram!(PREDICT_SECONDS, "model_name" => label()),
        postprocess: metrics::histogram!(POSTPROCESS_SECONDS, "model_name" => label()),
        explain: metrics::histogram!(EXPLAIN_SECONDS, "model_name" => label()),
        ok: [ok("v1", "200"), ok("v2", "200"), ok("grpc", "OK")],
    });
    if let Ok(mut c) = cache.write() {
        c.entry(model.to_string()).or_insert_with(|| m.clone());
    }
    m
}

/// The series of `model` if they exist; never registers.
fn registered(model: &str) -> Option<Arc<ModelMetrics>> {
    MODELS.get()?.read().ok()?.get(model).cloned()
}

/// Counts one answered request of `model` under its protocol and outcome
/// (HTTP status or gRPC code). Only models the server has registered are
/// counted: a series per name a client made up would let anyone grow the
/// metrics page (and the memory behind it) without bound.
pub fn count_request(model: &str, protocol: &'static str, outcome: &str) {
    let Some(m) = registered(model) else {
        return;
    };
    match m.ok.iter().find(|(p, o, _)| *p == protocol && *o == outcome) {
        Some((_, _, c)) => c.increment(1),
        None => metrics::counter!(REQUESTS_TOTAL, "model_name" => model.to_string(), "protocol" => protocol, "outcome" => outcome.to_string())
            .increment(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upkeep_thread_stops_when_dropped() {
        let upkeep = Upkeep::start();
        let thread = upkeep.thread.as_ref().map(|t| t.thread().id());
        assert!(thread.is_some(), "the recorder is ours in this test binary");
        let (done_tx, done) = mpsc::channel();
        std::thread::spawn(move || {
            drop(upkeep);
            let _ = done_tx.send(());
        });
        // Dropping joins the thread: it returns only once the thread ended.
        assert!(done.recv_timeout(Duration::from_secs(10)).is_ok());
    }

    #[test]
    fn size_histograms_get_count_buckets() {
        prometheus();
        metrics::histogram!("test_rows_size").record(3.0);
        let page = render();
        assert!(
            page.contains(r#"test_rows_size_bucket{le="4"} 1"#),
            "{page}"
        );
    }
}
