//! Prometheus metrics per route and backend, in the proxy's own registry
//! (served on the admin port at `/metrics`).

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    pub requests: IntCounterVec,
    pub latency: HistogramVec,
    pub in_flight: IntGaugeVec,
    pub backend_requests: IntCounterVec,
    pub upstream_errors: IntCounterVec,
    pub retries: IntCounterVec,
    pub ejections: IntCounterVec,
    pub backend_available: IntGaugeVec,
}

fn counter(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    r.register(Box::new(c.clone())).expect("registered once");
    c
}

fn gauge(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
    r.register(Box::new(g.clone())).expect("registered once");
    g
}

impl Metrics {
    // Names and labels are constants: the expects cannot fail at run time.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Metrics {
        let r = Registry::new();
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "infergate_proxy_request_duration_seconds",
                "Time from the request's arrival to the end of its answer",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0, 30.0,
            ]),
            &["route"],
        )
        .expect("valid metric");
        r.register(Box::new(latency.clone()))
            .expect("registered once");
        Metrics {
            requests: counter(
                &r,
                "infergate_proxy_requests_total",
                "Requests answered, by route and HTTP status",
                &["route", "status"],
            ),
            latency,
            in_flight: gauge(
                &r,
                "infergate_proxy_in_flight",
                "Requests in flight, by route",
                &["route"],
            ),
            backend_requests: counter(
                &r,
                "infergate_proxy_backend_requests_total",
                "Requests sent to each backend",
                &["pool", "backend"],
            ),
            upstream_errors: counter(
                &r,
                "infergate_proxy_upstream_errors_total",
                "Upstream failures by kind (connect, connect_timeout, timeout, http_5xx, upstream)",
                &["pool", "backend", "kind"],
            ),
            retries: counter(
                &r,
                "infergate_proxy_retries_total",
                "Connect attempts re-made on another backend, by route",
                &["route"],
            ),
            ejections: counter(
                &r,
                "infergate_proxy_ejections_total",
                "Passive ejections of a backend",
                &["pool", "backend"],
            ),
            backend_available: gauge(
                &r,
                "infergate_proxy_backend_available",
                "1 when the backend is healthy and not ejected",
                &["pool", "backend"],
            ),
            registry: r,
        }
    }

    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!("metrics encoding failed: {e}");
        }
        out
    }
}
