//! The report of a run: per target totals, latency percentiles, open-loop
//! rates, windows and rounds, and the ratios between targets. Its JSON form is
//! described by `loadtest/report.schema.json`.
use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::record::{Window, histogram};
use crate::run::engine::Measurement;

pub const SCHEMA: &str = "infergate-loadtest/report/v1";

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub tool: Tool,
    pub config: Config,
    pub targets: Vec<TargetReport>,
    pub comparison: Vec<Ratio>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Config {
    pub mode: &'static str,
    pub model: String,
    pub concurrency: usize,
    pub rate: Option<f64>,
    pub arrival: Option<crate::cli::Arrival>,
    pub duration_s: Option<f64>,
    pub requests: Option<u64>,
    pub warmup_s: f64,
    pub rounds: usize,
    pub window_s: f64,
    pub stability: Option<StabilityConfig>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StabilityConfig {
    pub windows: usize,
    pub within_pct: f64,
}

/// Who was measured and how.
#[derive(Debug, Clone, Serialize)]
pub struct TargetInfo {
    pub label: String,
    pub url: String,
    pub protocol: crate::target::Protocol,
    pub http_version: &'static str,
    pub tls: bool,
    /// Body size; the mean when there are several bodies.
    pub request_bytes: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetReport {
    #[serde(flatten)]
    pub info: TargetInfo,
    /// Measured requests that completed (answered or failed).
    pub requests: u64,
    pub ok: u64,
    pub errors: Errors,
    pub duration_s: f64,
    pub rps: f64,
    pub latency_ms: Latency,
    /// The successful answers' latency alone (what admitted requests got
    /// when a server refuses the excess).
    pub ok_latency_ms: Latency,
    pub open_loop: Option<OpenLoopReport>,
    pub stable: Option<bool>,
    pub rounds: Vec<RoundReport>,
    pub windows: Vec<WindowReport>,
    pub percentiles: Vec<Point>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Errors {
    pub total: u64,
    pub by_kind: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    /// Answered requests the percentiles are over.
    pub samples: u64,
    pub min: f64,
    pub mean: f64,
    pub stdev: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct OpenLoopReport {
    pub target_rate: f64,
    /// Measured requests the schedule held (absent when stopped by stability).
    pub scheduled: Option<u64>,
    pub scheduled_rate: Option<f64>,
    pub sent: u64,
    /// Requests sent within the measured period, per second of it.
    pub achieved_rate: f64,
    /// Due in the period but sent after it (still measured).
    pub late: u64,
    /// Due in the period but never sent (later than the drain limit).
    pub missed: u64,
    /// How late requests went out after their intended time.
    pub send_lag_ms: Latency,
}

#[derive(Debug, Clone, Serialize)]
pub struct RoundReport {
    pub requests: u64,
    pub duration_s: f64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub stable: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WindowReport {
    pub round: usize,
    pub index: u64,
    pub start_s: f64,
    /// Whether the totals include it (false outside the stable windows).
    pub counted: bool,
    pub requests: u64,
    pub errors: u64,
    pub rps: f64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Point {
    pub percentile: f64,
    pub ms: f64,
}

/// `subject` relative to `baseline`: rps_ratio > 1 means more throughput,
/// latency ratios < 1 mean lower latency.
#[derive(Debug, Clone, Serialize)]
pub struct Ratio {
    pub subject: String,
    pub baseline: String,
    pub rps_ratio: f64,
    pub p50_ratio: f64,
    pub p99_ratio: f64,
}

const CURVE: [f64; 21] = [
    0.0, 10.0, 20.0, 25.0, 30.0, 40.0, 50.0, 60.0, 70.0, 75.0, 80.0, 90.0, 95.0, 97.5, 99.0, 99.5,
    99.9, 99.95, 99.99, 99.999, 100.0,
];

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

pub fn latency(h: &Histogram<u64>) -> Latency {
    if h.is_empty() {
        return Latency::default();
    }
    Latency {
        samples: h.len(),
        min: ms(h.min()),
        mean: h.mean() / 1000.0,
        stdev: h.stdev() / 1000.0,
        p50: ms(h.value_at_quantile(0.5)),
        p90: ms(h.value_at_quantile(0.9)),
        p99: ms(h.value_at_quantile(0.99)),
        p999: ms(h.value_at_quantile(0.999)),
        max: ms(h.max()),
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

fn window_report(round: usize, w: &Window, window_s: f64, counted: bool) -> WindowReport {
    let l = latency(&w.latency);
    WindowReport {
        round,
        index: w.index,
        start_s: w.index as f64 * window_s,
        counted,
        requests: w.completed(),
        errors: w.errors.values().sum(),
        rps: w.completed() as f64 / window_s,
        mean_ms: l.mean,
        p50_ms: l.p50,
        p99_ms: l.p99,
        max_ms: l.max,
    }
}

/// Totals of one target over its rounds.
pub fn target_report(
    info: TargetInfo,
    rounds: &[Measurement],
    window_s: f64,
    rate: Option<f64>,
) -> TargetReport {
    let mut total = Window::new(0);
    let mut duration = 0.0;
    let mut period = 0.0;
    let mut scheduled = Some(0u64);
    let mut round_reports = Vec::new();
    let mut windows = Vec::new();
    for (r, m) in rounds.iter().enumerate() {
        let mut this = Window::new(0);
        for (i, w) in m.windows.iter().enumerate() {
            let counted = m.range.contains(&i);
            if counted {
                this.merge(w);
            }
            windows.push(window_report(r + 1, w, window_s, counted));
        }
        total.merge(&this);
        let d = m.duration.as_secs_f64();
        duration += d;
        period += m.period.as_secs_f64();
        scheduled = scheduled
            .zip(m.scheduled.filter(|_| m.stable != Some(true)))
            .map(|(a, b)| a + b);
        let l = latency(&this.latency);
        round_reports.push(RoundReport {
            requests: this.completed(),
            duration_s: d,
            rps: ratio(this.completed() as f64, d),
            p50_ms: l.p50,
            p99_ms: l.p99,
            stable: m.stable,
        });
    }
    let by_kind = total
        .errors
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect();
    let open_loop = rate.map(|target_rate| OpenLoopReport {
        target_rate,
        scheduled,
        scheduled_rate: scheduled.map(|s| ratio(s as f64, period)),
        sent: total.sent,
        achieved_rate: ratio((total.sent - total.late) as f64, period),
        late: total.late,
        missed: total.missed,
        send_lag_ms: latency(&total.lag),
    });
    let mut curve_hist = histogram();
    let _ = curve_hist.add(&total.latency);
    let percentiles = if curve_hist.is_empty() {
        Vec::new()
    } else {
        CURVE
            .iter()
            .map(|&p| Point {
                percentile: p,
                ms: ms(curve_hist.value_at_quantile(p / 100.0)),
            })
            .collect()
    };
    let stable = rounds
        .iter()
        .map(|m| m.stable)
        .try_fold(true, |acc, s| s.map(|s| acc && s));
    TargetReport {
        info,
        requests: total.completed(),
        ok: total.ok,
        errors: Errors {
            total: total.errors.values().sum(),
            by_kind,
        },
        duration_s: duration,
        rps: ratio(total.completed() as f64, duration),
        latency_ms: latency(&total.latency),
        ok_latency_ms: latency(&total.ok_latency),
        open_loop,
        stable,
        rounds: round_reports,
        windows,
        percentiles,
    }
}

/// The first target against each of the others.
pub fn comparison(targets: &[TargetReport]) -> Vec<Ratio> {
    let Some((first, rest)) = targets.split_first() else {
        return Vec::new();
    };
    rest.iter()
        .map(|t| Ratio {
            subject: first.info.label.clone(),
            baseline: t.info.label.clone(),
            rps_ratio: ratio(first.rps, t.rps),
            p50_ratio: ratio(first.latency_ms.p50, t.latency_ms.p50),
            p99_ratio: ratio(first.latency_ms.p99, t.latency_ms.p99),
        })
        .collect()
}
