//! The report as a readable table.
use std::fmt::Write;

use crate::report::{Report, TargetReport};

fn header(r: &Report) -> String {
    let c = &r.config;
    let load = match c.rate {
        Some(rate) => format!(
            "open loop, {rate} req/s {}, up to {} connections",
            c.arrival.map_or("", |a| match a {
                crate::cli::Arrival::Constant => "constant",
                crate::cli::Arrival::Poisson => "poisson",
            }),
            c.concurrency
        ),
        None => format!("closed loop, {} in flight", c.concurrency),
    };
    let bound = match (c.requests, c.duration_s) {
        (Some(n), _) => format!("{n} requests"),
        (None, Some(d)) => format!("{d}s"),
        (None, None) => String::new(),
    };
    format!(
        "model {}: {load}, {bound} per target and round, warm-up {}s, {} round(s)",
        c.model, c.warmup_s, c.rounds
    )
}

fn details(out: &mut String, t: &TargetReport) {
    if !t.errors.by_kind.is_empty() {
        let kinds: Vec<String> = t
            .errors
            .by_kind
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        let _ = writeln!(out, "  errors: {}", kinds.join(", "));
        let l = &t.ok_latency_ms;
        if l.samples > 0 {
            let _ = writeln!(
                out,
                "  successful answers only: {}, p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
                l.samples, l.p50, l.p99, l.max
            );
        }
    }
    if let Some(o) = &t.open_loop {
        let sched = o
            .scheduled_rate
            .map_or(String::new(), |s| format!(", scheduled {s:.1}/s"));
        let _ = writeln!(
            out,
            "  open loop: target {:.1}/s{sched}, achieved {:.1}/s, late {}, missed {}, send lag p99 {:.3} ms",
            o.target_rate, o.achieved_rate, o.late, o.missed, o.send_lag_ms.p99
        );
    }
    if let Some(stable) = t.stable {
        let _ = writeln!(
            out,
            "  stable: {}",
            if stable {
                "yes (report covers the stable windows)"
            } else {
                "NO (not stable before the end)"
            }
        );
    }
    if t.rounds.len() > 1 {
        let rps: Vec<String> = t.rounds.iter().map(|r| format!("{:.0}", r.rps)).collect();
        let _ = writeln!(out, "  rounds rps: {}", rps.join(" / "));
    }
}

pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}\n", header(r));
    let w = r
        .targets
        .iter()
        .map(|t| t.info.label.len())
        .max()
        .unwrap_or(6)
        .max(6);
    let _ = writeln!(
        out,
        "{:<w$}  {:<9}  {:>9}  {:>7}  {:>10}  {:>8}  {:>8}  {:>8}  {:>8}  {:>8}",
        "target",
        "protocol",
        "requests",
        "errors",
        "rps",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "p99.9 ms",
        "max ms"
    );
    for t in &r.targets {
        let l = &t.latency_ms;
        let proto = format!(
            "{}{}",
            t.info.protocol,
            if t.info.http_version == "2" {
                "/h2"
            } else {
                ""
            }
        );
        // No answer, no latency: "n/a" rather than a 0.000 that reads as fast.
        let cell = |v: f64| {
            if l.samples == 0 {
                "n/a".to_string()
            } else {
                format!("{v:.3}")
            }
        };
        let _ = writeln!(
            out,
            "{:<w$}  {:<9}  {:>9}  {:>7}  {:>10.1}  {:>8}  {:>8}  {:>8}  {:>8}  {:>8}",
            t.info.label,
            proto,
            t.requests,
            t.errors.total,
            t.rps,
            cell(l.p50),
            cell(l.p90),
            cell(l.p99),
            cell(l.p999),
            cell(l.max)
        );
        details(&mut out, t);
    }
    if !r.comparison.is_empty() {
        let cw = r
            .comparison
            .iter()
            .map(|c| c.subject.len() + c.baseline.len() + 4)
            .max()
            .unwrap_or(10);
        let _ = writeln!(
            out,
            "\n{:<cw$}  {:>9}  {:>9}  {:>9}",
            "comparison", "rps", "p50", "p99"
        );
        for c in &r.comparison {
            let name = format!("{} vs {}", c.subject, c.baseline);
            let _ = writeln!(
                out,
                "{name:<cw$}  {:>8.2}x  {:>8.2}x  {:>8.2}x",
                c.rps_ratio, c.p50_ratio, c.p99_ratio
            );
        }
    }
    out
}
