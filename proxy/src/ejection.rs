//! Passive outlier ejection of one backend: N consecutive failures (connect
//! failures or 5xx answers) take it out for a cool-down that doubles with
//! each ejection in a row, up to a maximum; a success resets both counts.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use crate::config::EjectionConfig;

pub struct Ejection {
    threshold: u32,
    base: Duration,
    max: Duration,
    /// Reference point for `until_ms`.
    epoch: Instant,
    failures: AtomicU32,
    in_row: AtomicU32,
    /// Milliseconds since `epoch` until which the backend is out (0: in).
    until_ms: AtomicU64,
}

impl Ejection {
    pub fn new(cfg: &EjectionConfig) -> Ejection {
        Ejection {
            threshold: cfg.consecutive_failures,
            base: Duration::from_millis(cfg.base_ms),
            max: Duration::from_millis(cfg.max_ms),
            epoch: Instant::now(),
            failures: AtomicU32::new(0),
            in_row: AtomicU32::new(0),
            until_ms: AtomicU64::new(0),
        }
    }

    fn now_ms(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.epoch).as_millis() as u64
    }

    pub fn is_ejected(&self, now: Instant) -> bool {
        self.now_ms(now) < self.until_ms.load(Relaxed)
    }

    pub fn success(&self) {
        if self.failures.load(Relaxed) != 0 {
            self.failures.store(0, Relaxed);
        }
        if self.in_row.load(Relaxed) != 0 {
            self.in_row.store(0, Relaxed);
        }
    }

    /// Counts a failure; returns the cool-down when this one ejects.
    pub fn failure(&self, now: Instant) -> Option<Duration> {
        if self.threshold == 0 {
            return None;
        }
        let n = self.failures.fetch_add(1, Relaxed) + 1;
        if n < self.threshold {
            return None;
        }
        self.failures.store(0, Relaxed);
        let row = self.in_row.fetch_add(1, Relaxed).min(16);
        let cool = self.base.saturating_mul(1 << row).min(self.max);
        let until = self.now_ms(now) + cool.as_millis() as u64;
        self.until_ms.store(until.max(1), Relaxed);
        Some(cool)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(n: u32) -> EjectionConfig {
        EjectionConfig {
            consecutive_failures: n,
            base_ms: 100,
            max_ms: 350,
        }
    }

    #[test]
    fn ejects_after_n_in_a_row_with_growing_cool_down() {
        let e = Ejection::new(&cfg(3));
        let t = Instant::now();
        assert_eq!(e.failure(t), None);
        e.success(); // breaks the run
        assert_eq!(e.failure(t), None);
        assert_eq!(e.failure(t), None);
        assert_eq!(e.failure(t), Some(Duration::from_millis(100)));
        assert!(e.is_ejected(t));
        assert!(!e.is_ejected(t + Duration::from_millis(150)));
        for _ in 0..2 {
            e.failure(t);
        }
        assert_eq!(e.failure(t), Some(Duration::from_millis(200)));
        for _ in 0..2 {
            e.failure(t);
        }
        assert_eq!(e.failure(t), Some(Duration::from_millis(350)), "capped");
        e.success();
        for _ in 0..2 {
            e.failure(t);
        }
        assert_eq!(e.failure(t), Some(Duration::from_millis(100)), "reset");
    }

    #[test]
    fn zero_threshold_never_ejects() {
        let e = Ejection::new(&cfg(0));
        for _ in 0..10 {
            assert_eq!(e.failure(Instant::now()), None);
        }
        assert!(!e.is_ejected(Instant::now()));
    }
}
