//! Per-worker measurements, cut into time windows. Each worker records into
//! its own histogram (no sharing on the request path) and hands a window to
//! the collector when its clock passes into the next one.
use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::sync::mpsc::UnboundedSender;

use crate::outcome::Outcome;

/// Latency histograms count microseconds with 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    static TEMPLATE: OnceLock<Histogram<u64>> = OnceLock::new();
    // Built once, before any request (3 digits is always a valid precision);
    // copies of its configuration cannot fail.
    let template = TEMPLATE.get_or_init(|| {
        let mut h = Histogram::new(3).expect("3 significant digits are valid");
        // Auto-resizing: it grows only as far as the largest latency seen.
        h.auto(true);
        h
    });
    Histogram::new_from(template)
}

/// What happened in one window: requests that completed in it (latency,
/// outcome) and requests sent in it.
#[derive(Debug, Clone)]
pub struct Window {
    pub index: u64,
    pub latency: Histogram<u64>,
    /// Latency of the successful answers only: under overload, what the
    /// requests the server admitted got (fast refusals would hide it).
    pub ok_latency: Histogram<u64>,
    pub ok: u64,
    pub errors: BTreeMap<Outcome, u64>,
    pub sent: u64,
    /// Open loop: requests sent after the measured period ended (they were
    /// due in it, but the generator or the connections fell behind).
    pub late: u64,
    /// Open loop: requests due in the measured period and never sent, because
    /// their lag passed the drain limit.
    pub missed: u64,
    /// Open loop: how late requests were sent (µs after the intended time).
    pub lag: Histogram<u64>,
}

impl Window {
    pub fn new(index: u64) -> Self {
        Window {
            index,
            latency: histogram(),
            ok_latency: histogram(),
            ok: 0,
            errors: BTreeMap::new(),
            sent: 0,
            late: 0,
            missed: 0,
            lag: histogram(),
        }
    }

    pub fn completed(&self) -> u64 {
        self.ok + self.errors.values().sum::<u64>()
    }

    pub fn merge(&mut self, other: &Window) {
        // Both histograms auto-resize, so adding cannot fail.
        let _ = self.latency.add(&other.latency);
        let _ = self.ok_latency.add(&other.ok_latency);
        let _ = self.lag.add(&other.lag);
        self.ok += other.ok;
        for (k, v) in &other.errors {
            *self.errors.entry(*k).or_default() += v;
        }
        self.sent += other.sent;
        self.late += other.late;
        self.missed += other.missed;
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

pub struct Recorder {
    origin: Instant,
    window_ns: u128,
    cur: Window,
    tx: UnboundedSender<Window>,
}

impl Recorder {
    /// Windows count from `origin` (the start of the measured period).
    pub fn new(origin: Instant, window: Duration, tx: UnboundedSender<Window>) -> Self {
        Recorder {
            origin,
            window_ns: window.as_nanos().max(1),
            cur: Window::new(0),
            tx,
        }
    }

    fn index(&self, t: Instant) -> u64 {
        (t.saturating_duration_since(self.origin).as_nanos() / self.window_ns) as u64
    }

    /// Hands over the current window if `now` lies past it.
    pub fn roll(&mut self, now: Instant) {
        let i = self.index(now);
        if i > self.cur.index {
            let done = std::mem::replace(&mut self.cur, Window::new(i));
            self.hand_over(done);
        }
    }

    fn hand_over(&self, w: Window) {
        if w.sent > 0 || w.missed > 0 || w.completed() > 0 {
            // The collector outlives the workers; a closed channel means the
            // run was abandoned, and there is nothing left to report to.
            let _ = self.tx.send(w);
        }
    }

    pub fn sent(&mut self, at: Instant, lag: Option<Duration>, late: bool) {
        self.roll(at);
        self.cur.sent += 1;
        self.cur.late += u64::from(late);
        if let Some(lag) = lag {
            let _ = self.cur.lag.record(micros(lag));
        }
    }

    pub fn missed(&mut self, now: Instant) {
        self.roll(now);
        self.cur.missed += 1;
    }

    pub fn completed(&mut self, done: Instant, latency: Duration, outcome: Outcome) {
        self.roll(done);
        if outcome.answered() {
            let _ = self.cur.latency.record(micros(latency));
        }
        if outcome.is_ok() {
            let _ = self.cur.ok_latency.record(micros(latency));
            self.cur.ok += 1;
        } else {
            *self.cur.errors.entry(outcome).or_default() += 1;
        }
    }

    /// Hands over what is left.
    pub fn finish(mut self) {
        let last = std::mem::replace(&mut self.cur, Window::new(0));
        self.hand_over(last);
    }

    /// When the current window ends (an idle worker wakes then to hand it over).
    pub fn window_end(&self) -> Instant {
        let ns = self.window_ns * (self.cur.index as u128 + 1);
        self.origin + Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_handed_over_when_the_clock_passes_them() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let t0 = Instant::now();
        let mut r = Recorder::new(t0, Duration::from_millis(100), tx);
        r.sent(t0, None, false);
        r.completed(
            t0 + Duration::from_millis(5),
            Duration::from_millis(5),
            Outcome::Ok,
        );
        r.sent(
            t0 + Duration::from_millis(150),
            Some(Duration::from_micros(30)),
            true,
        );
        r.completed(
            t0 + Duration::from_millis(260),
            Duration::from_millis(110),
            Outcome::Http(500),
        );
        r.completed(
            t0 + Duration::from_millis(270),
            Duration::from_millis(1),
            Outcome::Timeout,
        );
        r.finish();
        let w: Vec<Window> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        assert_eq!(w.iter().map(|w| w.index).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!((w[0].sent, w[0].ok, w[0].latency.len()), (1, 1, 1));
        assert_eq!(w[0].ok_latency.len(), 1);
        assert_eq!((w[1].sent, w[1].completed(), w[1].lag.max()), (1, 0, 30));
        assert_eq!(w[2].errors[&Outcome::Http(500)], 1);
        assert_eq!(w[2].errors[&Outcome::Timeout], 1);
        assert_eq!(
            w[2].latency.len(),
            1,
            "no latency for a request never answered"
        );
        assert_eq!(
            w[2].ok_latency.len(),
            0,
            "errors are not successful answers"
        );
        let mut all = Window::new(0);
        w.iter().for_each(|x| all.merge(x));
        assert_eq!((all.sent, all.late, all.ok, all.completed()), (2, 1, 1, 3));
    }
}
