//! The collector: merges the windows workers hand over, drives the progress
//! bar, and stops the measurement once the stability rule holds.
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedReceiver;

use super::stability::Rule;
use crate::progress::Bar;
use crate::record::Window;

pub struct Collected {
    /// Windows from the start of the measured period, merged over workers.
    pub windows: Vec<Window>,
    /// The windows found stable (only with a rule).
    pub stable: Option<Range<usize>>,
}

/// What the progress bar counts.
pub enum Goal {
    Time(Duration),
    Requests(u64),
}

pub struct Collector {
    pub measure_start: Instant,
    pub window: Duration,
    pub rule: Option<Rule>,
    pub stop: Arc<AtomicBool>,
    pub goal: Goal,
}

fn merge(windows: &mut Vec<Window>, w: Window) {
    let i = usize::try_from(w.index).unwrap_or(usize::MAX);
    while windows.len() <= i {
        windows.push(Window::new(windows.len() as u64));
    }
    windows[i].merge(&w);
}

impl Collector {
    /// Windows whose end (plus a grace for late hand-overs) has passed.
    fn complete(&self, now: Instant) -> usize {
        let grace = (self.window / 5).max(Duration::from_millis(50));
        let since = now.saturating_duration_since(self.measure_start + grace);
        (since.as_nanos() / self.window.as_nanos().max(1)) as usize
    }

    pub async fn run(self, mut rx: UnboundedReceiver<Window>, bar: Bar) -> Collected {
        let mut windows = Vec::new();
        let mut stable = None;
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                w = rx.recv() => match w {
                    Some(w) => merge(&mut windows, w),
                    None => break,
                },
                _ = tick.tick() => {
                    let now = Instant::now();
                    let complete = self.complete(now);
                    while windows.len() < complete {
                        windows.push(Window::new(windows.len() as u64));
                    }
                    self.show(&bar, now, &windows[..complete]);
                    if let Some(rule) = &self.rule
                        && stable.is_none()
                        && let Some(r) = rule.check(&windows[..complete])
                    {
                        stable = Some(r);
                        self.stop.store(true, Ordering::Relaxed);
                    }
                }
            }
        }
        bar.finish();
        Collected { windows, stable }
    }

    fn show(&self, bar: &Bar, now: Instant, complete: &[Window]) {
        let rps = complete
            .last()
            .map_or(0.0, |w| w.completed() as f64 / self.window.as_secs_f64());
        let msg = || format!("{rps:.0} rps");
        match self.goal {
            Goal::Time(_) => {
                let ms = now
                    .saturating_duration_since(self.measure_start)
                    .as_millis();
                bar.update(u64::try_from(ms).unwrap_or(u64::MAX), msg);
            }
            Goal::Requests(_) => {
                let done: u64 = complete.iter().map(Window::completed).sum();
                bar.update(done, msg);
            }
        }
    }
}
