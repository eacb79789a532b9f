//! Open-loop arrivals. A pacer thread releases each request at its intended
//! time on an absolute schedule (no drift from late wake-ups); idle workers
//! take the next one. Latency counts from the intended time, so a server that
//! stalls is charged for every request it delayed (coordinated omission).
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::cli::Arrival;

/// Arrival offsets from the start: `k / rate`, or a Poisson process.
#[derive(Clone)]
pub struct Schedule {
    rate: f64,
    arrival: Arrival,
    rng: fastrand::Rng,
    k: u64,
    t: f64,
}

impl Schedule {
    pub fn new(rate: f64, arrival: Arrival, seed: u64) -> Self {
        Schedule {
            rate,
            arrival,
            rng: fastrand::Rng::with_seed(seed),
            k: 0,
            t: 0.0,
        }
    }
}

impl Iterator for Schedule {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let now = match self.arrival {
            // From the index, so rounding never accumulates.
            Arrival::Constant => self.k as f64 / self.rate,
            Arrival::Poisson => {
                let t = self.t;
                // 1 - u lies in (0, 1]: the logarithm is finite.
                self.t += -(1.0 - self.rng.f64()).ln() / self.rate;
                t
            }
        };
        self.k += 1;
        Some(Duration::from_secs_f64(now))
    }
}

/// The end of the measured period: `warmup + duration`, or just after the
/// `requests`-th arrival past the warm-up.
pub fn measured_end(
    schedule: &Schedule,
    warmup: Duration,
    requests: Option<u64>,
    duration: Duration,
) -> Duration {
    match requests {
        None => warmup + duration,
        Some(n) => schedule
            .clone()
            .filter(|&t| t >= warmup)
            .nth(usize::try_from(n).unwrap_or(usize::MAX))
            .unwrap_or(warmup + duration),
    }
}

/// One request to send.
#[derive(Debug, Clone, Copy)]
pub struct Slot {
    pub intended: Instant,
    pub measured: bool,
}

/// Releases slots until `end` (offset from `origin`) or `stop`; returns how
/// many measured slots it scheduled. Blocking: run it on a thread of its own.
pub fn pace(
    schedule: Schedule,
    origin: Instant,
    warmup: Duration,
    end: Duration,
    tx: async_channel::Sender<Slot>,
    stop: Arc<AtomicBool>,
) -> u64 {
    let mut scheduled = 0;
    for offset in schedule {
        if offset >= end || stop.load(Ordering::Relaxed) {
            break;
        }
        let due = origin + offset;
        let now = Instant::now();
        if due > now {
            // OS sleep: about 60 µs late on Linux, far finer than tokio's 1 ms
            // timer. Past slots go out at once, in a burst.
            std::thread::sleep(due - now);
        }
        let measured = offset >= warmup;
        scheduled += u64::from(measured);
        if tx
            .send_blocking(Slot {
                intended: due,
                measured,
            })
            .is_err()
        {
            break;
        }
    }
    scheduled
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_arrivals_are_evenly_spaced() {
        let t: Vec<_> = Schedule::new(4.0, Arrival::Constant, 0).take(5).collect();
        assert_eq!(t[4], Duration::from_secs(1));
        assert_eq!(t[1], Duration::from_millis(250));
    }

    #[test]
    fn poisson_arrivals_have_the_mean_rate() {
        let n = 200_000;
        let last = Schedule::new(1000.0, Arrival::Poisson, 3).nth(n).unwrap();
        // n gaps of mean 1 ms: within 1% (sd of the sum is 0.22%).
        let secs = last.as_secs_f64();
        assert!((secs - 200.0).abs() < 2.0, "{secs}");
        let same = Schedule::new(1000.0, Arrival::Poisson, 3).nth(n).unwrap();
        assert_eq!(last, same, "seeded");
    }

    #[test]
    fn the_measured_period_ends_after_the_requested_count() {
        let s = Schedule::new(10.0, Arrival::Constant, 0);
        let end = measured_end(&s, Duration::from_secs(1), Some(5), Duration::ZERO);
        assert_eq!(end, Duration::from_millis(1500));
        let end = measured_end(&s, Duration::from_secs(1), None, Duration::from_secs(2));
        assert_eq!(end, Duration::from_secs(3));
    }

    #[test]
    fn the_pacer_releases_slots_on_time() {
        let (tx, rx) = async_channel::unbounded();
        let start = Instant::now();
        let s = Schedule::new(200.0, Arrival::Constant, 0);
        let n = pace(
            s,
            start,
            Duration::from_millis(50),
            Duration::from_millis(150),
            tx,
            Arc::default(),
        );
        assert_eq!(n, 20);
        let slots: Vec<Slot> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        assert_eq!(slots.len(), 30);
        assert_eq!(slots.iter().filter(|s| s.measured).count(), 20);
        assert!(start.elapsed() >= Duration::from_millis(145));
    }
}
