//! One measurement of one target: connect, warm up, drive the load (closed or
//! open loop), and gather the windows.
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::collect::{Collector, Goal};
use super::schedule::{self, Schedule, Slot};
use super::stability::Rule;
use crate::cli::Arrival;
use crate::client::timeout::{Guard, Watchdog};
use crate::client::{self, Conn, Endpoint};
use crate::error::Result;
use crate::outcome::Outcome;
use crate::progress::Progress;
use crate::record::{Recorder, Window};

/// Pause of a closed-loop worker after a failed connect.
const CONNECT_BACKOFF: Duration = Duration::from_millis(10);

#[derive(Debug, Clone, Copy)]
pub struct OpenLoop {
    pub rate: f64,
    pub arrival: Arrival,
    pub seed: u64,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub concurrency: usize,
    pub shared_connections: usize,
    pub open: Option<OpenLoop>,
    pub duration: Duration,
    pub requests: Option<u64>,
    pub warmup: Duration,
    pub window: Duration,
    pub rule: Option<Rule>,
    /// Open loop: how long after the period requests still due are sent.
    pub drain: Duration,
    /// Per-request timeout (zero: none).
    pub timeout: Duration,
}

/// What one measurement saw.
#[derive(Debug, Clone)]
pub struct Measurement {
    pub windows: Vec<Window>,
    /// The windows the report covers: the stable ones, or all.
    pub range: Range<usize>,
    /// From the start of the measured period to its last completion (or the
    /// stable windows' length): throughput is counted over this.
    pub duration: Duration,
    /// The measured period as planned (open loop: rates are counted over this).
    pub period: Duration,
    /// Open loop: measured requests the schedule held.
    pub scheduled: Option<u64>,
    /// With a stability rule: whether it held before the end.
    pub stable: Option<bool>,
}

struct Control {
    measure_start: Instant,
    /// The end of the measured period: closed loop starts no request from
    /// here on; open loop counts sends from here on as late.
    end: Option<Instant>,
    /// Open loop: a due request not sent by `end + drain` is dropped (missed).
    drain: Duration,
    stop: Arc<AtomicBool>,
    /// Closed loop with --requests: tickets taken so far.
    tickets: Option<(AtomicU64, u64)>,
}

impl Control {
    fn take_ticket(&self) -> bool {
        match &self.tickets {
            Some((taken, n)) => taken.fetch_add(1, Ordering::Relaxed) < *n,
            None => true,
        }
    }
}

/// One request, given up on when the watchdog says so.
async fn call(conn: &mut Conn, guard: &Guard, start: Instant) -> Outcome {
    match guard.run(start, conn.call()).await {
        Some(o) => o,
        None => {
            conn.abandon();
            Outcome::Timeout
        }
    }
}

/// Closed loop: send, wait for the answer, repeat. Returns the last
/// measured completion.
async fn closed_worker(
    mut conn: Conn,
    guard: Guard,
    mut rec: Recorder,
    ctl: Arc<Control>,
) -> Option<Instant> {
    let mut last = None;
    loop {
        let start = Instant::now();
        if ctl.stop.load(Ordering::Relaxed) || ctl.end.is_some_and(|end| start >= end) {
            break;
        }
        let measured = start >= ctl.measure_start;
        if measured && !ctl.take_ticket() {
            break;
        }
        let outcome = call(&mut conn, &guard, start).await;
        if measured {
            let done = Instant::now();
            rec.sent(start, None, false);
            rec.completed(done, done - start, outcome);
            last = Some(done);
        }
        if outcome == Outcome::Connect {
            // A refused connection fails in microseconds: without a pause the
            // loop would only measure how fast the kernel says no.
            tokio::time::sleep(CONNECT_BACKOFF).await;
        }
    }
    rec.finish();
    last
}

/// Open loop: take the next due slot, send it, charge latency from its
/// intended time.
async fn open_worker(
    mut conn: Conn,
    guard: Guard,
    mut rec: Recorder,
    ctl: Arc<Control>,
    rx: async_channel::Receiver<Slot>,
) -> Option<Instant> {
    let mut last = None;
    loop {
        // An idle worker still hands over its window when the window ends.
        let slot = match tokio::time::timeout_at(rec.window_end().into(), rx.recv()).await {
            Ok(Ok(slot)) => slot,
            Ok(Err(_)) => break,
            Err(_) => {
                rec.roll(Instant::now());
                continue;
            }
        };
        if ctl.stop.load(Ordering::Relaxed) {
            break;
        }
        let start = Instant::now();
        let late = ctl.end.is_some_and(|end| start >= end);
        if slot.measured && late && ctl.end.is_some_and(|end| start >= end + ctl.drain) {
            rec.missed(start);
            continue;
        }
        let outcome = call(&mut conn, &guard, start).await;
        if slot.measured {
            let done = Instant::now();
            // Late requests still count, latency included: dropping the most
            // delayed ones would hide exactly what open loop is meant to show.
            rec.sent(
                start,
                Some(start.saturating_duration_since(slot.intended)),
                late,
            );
            rec.completed(done, done.saturating_duration_since(slot.intended), outcome);
            last = Some(done);
        }
    }
    rec.finish();
    last
}

pub async fn measure(
    ep: &Arc<Endpoint>,
    plan: &Plan,
    progress: &Progress,
    label: &str,
) -> Result<Measurement> {
    let conns = client::connect(ep, plan.concurrency, plan.shared_connections).await?;
    let origin = Instant::now();
    let measure_start = origin + plan.warmup;
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::unbounded_channel();

    let schedule = plan.open.map(|o| Schedule::new(o.rate, o.arrival, o.seed));
    let open_end = schedule
        .as_ref()
        .map(|s| schedule::measured_end(s, plan.warmup, plan.requests, plan.duration));
    let end = match (open_end, plan.requests) {
        (Some(e), _) => Some(origin + e),
        (None, None) => Some(measure_start + plan.duration),
        (None, Some(_)) => None,
    };
    let ctl = Arc::new(Control {
        measure_start,
        end,
        drain: plan.drain,
        stop: stop.clone(),
        tickets: match (plan.open, plan.requests) {
            (None, Some(n)) => Some((AtomicU64::new(0), n)),
            _ => None,
        },
    });

    let goal = match plan.requests {
        Some(n) => Goal::Requests(n),
        None => Goal::Time(plan.duration),
    };
    let bar = match goal {
        Goal::Requests(n) => progress.bar(label, n, "requests"),
        Goal::Time(d) => progress.bar(label, d.as_millis() as u64, "ms"),
    };
    let collector = Collector {
        measure_start,
        window: plan.window,
        rule: plan.rule,
        stop: stop.clone(),
        goal,
    };
    let collected = tokio::spawn(collector.run(rx, bar));

    let watchdog = Arc::new(Watchdog::new(conns.len(), plan.timeout));
    let sweeping = Arc::new(AtomicBool::new(false));
    let sweeper = tokio::spawn(watchdog.clone().run(sweeping.clone()));
    let mut workers = Vec::with_capacity(conns.len());
    let mut pacer = None;
    match (schedule, open_end) {
        (Some(schedule), Some(open_end)) => {
            let (slot_tx, slot_rx) = async_channel::unbounded();
            let (warmup, stop) = (plan.warmup, stop.clone());
            pacer = Some(tokio::task::spawn_blocking(move || {
                schedule::pace(schedule, origin, warmup, open_end, slot_tx, stop)
            }));
            for (i, conn) in conns.into_iter().enumerate() {
                let rec = Recorder::new(measure_start, plan.window, tx.clone());
                let guard = watchdog.slot(i);
                workers.push(tokio::spawn(open_worker(
                    conn,
                    guard,
                    rec,
                    ctl.clone(),
                    slot_rx.clone(),
                )));
            }
        }
        _ => {
            for (i, conn) in conns.into_iter().enumerate() {
                let rec = Recorder::new(measure_start, plan.window, tx.clone());
                let guard = watchdog.slot(i);
                workers.push(tokio::spawn(closed_worker(conn, guard, rec, ctl.clone())));
            }
        }
    }
    drop(tx);

    let mut last_done: Option<Instant> = None;
    for w in workers {
        if let Ok(Some(t)) = w.await {
            last_done = Some(last_done.map_or(t, |l| l.max(t)));
        }
    }
    stop.store(true, Ordering::Relaxed);
    sweeping.store(true, Ordering::Relaxed);
    let _ = sweeper.await;
    let scheduled = match pacer {
        Some(p) => p.await.ok(),
        None => None,
    };
    let collected = collected
        .await
        .unwrap_or_else(|_| super::collect::Collected {
            windows: Vec::new(),
            stable: None,
        });

    let all = 0..collected.windows.len();
    let elapsed = last_done.map_or(Duration::ZERO, |t| {
        t.saturating_duration_since(measure_start)
    });
    let (range, duration, period) = match &collected.stable {
        Some(r) => {
            let d = plan.window * r.len() as u32;
            (r.clone(), d, d)
        }
        None => match open_end {
            Some(e) => {
                let period = e.saturating_sub(plan.warmup);
                (all, elapsed.max(period), period)
            }
            None => (all, elapsed, elapsed),
        },
    };
    Ok(Measurement {
        windows: collected.windows,
        range,
        duration,
        period,
        scheduled,
        stable: plan.rule.map(|_| collected.stable.is_some()),
    })
}
