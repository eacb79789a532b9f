//! Prometheus metrics. The histogram names and the `model_name` label are
//! those of KServe's Python model server, so that existing dashboards work.
use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const PREPROCESS_SECONDS: &str = "request_preprocess_seconds";
pub const PREDICT_SECONDS: &str = "request_predict_seconds";
pub const POSTPROCESS_SECONDS: &str = "request_postprocess_seconds";
pub const EXPLAIN_SECONDS: &str = "request_explain_seconds";
/// Requests answered, by model, protocol and outcome (HTTP status or gRPC code).
pub const REQUESTS_TOTAL: &str = "infergate_requests_total";
/// Rows in each batch a dynamic batcher ran, by model.
pub const BATCH_SIZE: &str = "infergate_batch_size";

const BATCH_BUCKETS: [f64; 10] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

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
                .set_buckets_for_metric(Matcher::Full(BATCH_SIZE.into()), &BATCH_BUCKETS)
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            // Histogram samples queue up until drained; without this, memory
            // grows with every request between two scrapes (about 50 bytes a
            // request, measured), and without any scrape forever.
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP_EVERY);
                        upkeep.run_upkeep();
                    }
                })
                .ok()?;
            Some(handle)
        })
        .as_ref()
}

/// The metrics page in Prometheus text format.
pub fn render() -> String {
    match prometheus() {
        Some(h) => {
            h.run_upkeep();
            h.render()
        }
        None => String::new(),
    }
}

pub fn observe(histogram: &'static str, model: &str, elapsed: Duration) {
    metrics::histogram!(histogram, "model_name" => model.to_string()).record(elapsed.as_secs_f64());
}

pub fn observe_batch(model: &str, rows: usize) {
    metrics::histogram!(BATCH_SIZE, "model_name" => model.to_string()).record(rows as f64);
}

pub fn count_request(model: &str, protocol: &'static str, outcome: &str) {
    metrics::counter!(REQUESTS_TOTAL, "model_name" => model.to_string(), "protocol" => protocol, "outcome" => outcome.to_string())
        .increment(1);
}
