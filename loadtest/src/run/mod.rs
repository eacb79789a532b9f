//! `infergate-loadtest run`: every target for every round, alternately, so
//! that a slow drift of the machine hits all targets alike; then the report.
mod collect;
pub mod engine;
pub mod schedule;
mod setup;
pub mod stability;

use std::time::Duration;

use crate::cli::RunArgs;
use crate::error::{LoadError, Result};
use crate::progress::Progress;
use crate::report::{self, Config, Report, StabilityConfig, Tool};
use engine::{OpenLoop, Plan};

const DEFAULT_DURATION: Duration = Duration::from_secs(10);

fn check(args: &RunArgs) -> Result<()> {
    if args.concurrency == 0 {
        return Err(LoadError::usage("--concurrency must be at least 1"));
    }
    if args.rounds == 0 {
        return Err(LoadError::usage("--rounds must be at least 1"));
    }
    if args.window.is_zero() {
        return Err(LoadError::usage("--window must be positive"));
    }
    if args.rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
        return Err(LoadError::usage("--rate must be a positive number"));
    }
    if args.requests == Some(0) || args.duration.is_some_and(|d| d.is_zero()) {
        return Err(LoadError::usage(
            "--requests and --duration must be positive",
        ));
    }
    if args.stable_within.is_nan() || args.stable_within <= 0.0 {
        return Err(LoadError::usage(
            "--stable-within must be a positive percentage",
        ));
    }
    Ok(())
}

fn plan(args: &RunArgs) -> Plan {
    Plan {
        concurrency: args.concurrency,
        shared_connections: args.h2_connections.max(1),
        open: args.rate.map(|rate| OpenLoop {
            rate,
            arrival: args.arrival,
            seed: args.seed,
        }),
        duration: args.duration.unwrap_or(DEFAULT_DURATION),
        requests: args.requests,
        warmup: args.warmup,
        window: args.window,
        timeout: args.timeout,
        drain: if args.timeout.is_zero() {
            DEFAULT_DURATION
        } else {
            args.timeout
        },
        rule: (args.stable_windows > 0).then(|| stability::Rule {
            windows: args.stable_windows,
            within: args.stable_within / 100.0,
        }),
    }
}

fn config(args: &RunArgs, plan: &Plan) -> Config {
    Config {
        mode: if args.rate.is_some() {
            "open"
        } else {
            "closed"
        },
        model: args.model.clone(),
        concurrency: args.concurrency,
        rate: args.rate,
        arrival: args.rate.map(|_| args.arrival),
        duration_s: args
            .requests
            .is_none()
            .then_some(plan.duration.as_secs_f64()),
        requests: args.requests,
        warmup_s: args.warmup.as_secs_f64(),
        rounds: args.rounds,
        window_s: args.window.as_secs_f64(),
        stability: plan.rule.map(|r| StabilityConfig {
            windows: r.windows,
            within_pct: args.stable_within,
        }),
    }
}

pub async fn run(args: &RunArgs) -> Result<Report> {
    check(args)?;
    let targets = setup::prepare(args).await?;
    let plan = plan(args);
    let progress = Progress::new(!args.no_progress);
    let mut measured: Vec<Vec<engine::Measurement>> = targets.iter().map(|_| Vec::new()).collect();
    for round in 1..=args.rounds {
        for (t, out) in targets.iter().zip(measured.iter_mut()) {
            let label = if args.rounds > 1 {
                format!("{} {round}/{}", t.info.label, args.rounds)
            } else {
                t.info.label.clone()
            };
            out.push(engine::measure(&t.endpoint, &plan, &progress, &label).await?);
        }
    }
    let window_s = args.window.as_secs_f64();
    let reports: Vec<_> = targets
        .into_iter()
        .zip(&measured)
        .map(|(t, m)| report::target_report(t.info, m, window_s, args.rate))
        .collect();
    Ok(Report {
        schema: report::SCHEMA,
        tool: Tool {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        },
        config: config(args, &plan),
        comparison: report::comparison(&reports),
        targets: reports,
    })
}
