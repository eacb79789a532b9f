//! A route's retry budget: retries (another backend after a connect
//! failure, or a re-send of an idempotent request) are allowed while they
//! stay under a share of the route's recent requests plus a small floor, so
//! that when every backend is failing, retries cannot multiply the load.
//! Counted over the current and the previous one-second window.

use std::sync::Mutex;
use std::time::Instant;

const WINDOW_MS: u128 = 1000;

pub struct RetryBudget {
    ratio: f64,
    floor: u32,
    epoch: Instant,
    state: Mutex<Windows>,
}

#[derive(Default)]
struct Windows {
    id: u128,
    requests: [u32; 2],
    retries: [u32; 2],
}

impl Windows {
    /// Moves to window `id`, keeping the previous one if it is adjacent.
    fn roll(&mut self, id: u128) {
        if id == self.id {
            return;
        }
        if id == self.id + 1 {
            self.requests = [self.requests[1], 0];
            self.retries = [self.retries[1], 0];
        } else {
            self.requests = [0, 0];
            self.retries = [0, 0];
        }
        self.id = id;
    }
}

impl RetryBudget {
    pub fn new(ratio: f64, floor: u32) -> RetryBudget {
        RetryBudget {
            ratio,
            floor,
            epoch: Instant::now(),
            state: Mutex::new(Windows::default()),
        }
    }

    fn window(&self, now: Instant) -> u128 {
        now.saturating_duration_since(self.epoch).as_millis() / WINDOW_MS
    }

    pub fn record_request(&self, now: Instant) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.roll(self.window(now));
        s.requests[1] = s.requests[1].saturating_add(1);
    }

    /// Takes a retry from the budget; false when it is spent.
    pub fn try_retry(&self, now: Instant) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.roll(self.window(now));
        let requests = f64::from(s.requests[0]) + f64::from(s.requests[1]);
        let retries = s.retries[0] + s.retries[1];
        if f64::from(retries) < f64::from(self.floor) + self.ratio * requests {
            s.retries[1] += 1;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn retries_stay_under_floor_plus_share_of_requests() {
        let b = RetryBudget::new(0.2, 3);
        let t = Instant::now();
        for _ in 0..100 {
            b.record_request(t);
        }
        // 3 + 0.2 * 100 = 23 retries, then none
        let allowed = (0..100).filter(|_| b.try_retry(t)).count();
        assert_eq!(allowed, 23);
    }

    #[test]
    fn the_budget_refills_as_windows_pass() {
        let b = RetryBudget::new(0.0, 2);
        let t = Instant::now();
        assert!(b.try_retry(t) && b.try_retry(t) && !b.try_retry(t));
        // one window later the previous window still counts
        assert!(!b.try_retry(t + Duration::from_millis(1000)));
        // two windows later it is forgotten
        assert!(b.try_retry(t + Duration::from_millis(2500)));
    }
}
