//! Prometheus metrics. The histogram names and the `model_name` label are
//! those of KServe's Python model server, so that existing dashboards work.
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock, RwLock};
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

/// The per-model series every request touches, registered once: building a
/// labelled handle on each request would allocate and hash every time.
pub struct ModelMetrics {
    pub preprocess: metrics::Histogram,
    pub predict: metrics::Histogram,
    pub postprocess: metrics::Histogram,
    pub explain: metrics::Histogram,
    pub batch_size: metrics::Histogram,
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
        batch_size: metrics::histogram!(BATCH_SIZE, "model_name" => label()),
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
