//! Predictor health: active checks on an interval (the model's ready
//! endpoint / ModelReady) and passive marking after consecutive failures of
//! real requests. Either kind of success marks it healthy again.
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// Consecutive failed requests that mark the predictor unhealthy.
const FAILURE_THRESHOLD: u32 = 3;

#[derive(Default)]
pub struct Health {
    healthy: AtomicBool,
    failures: AtomicU32,
}

impl Health {
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Acquire)
    }

    /// The outcome of an active check.
    pub fn checked(&self, ok: bool) {
        if ok {
            self.failures.store(0, Ordering::Release);
        }
        let was = self.healthy.swap(ok, Ordering::AcqRel);
        if was != ok {
            tracing::info!(healthy = ok, "predictor health changed");
        }
    }

    /// The outcome of a real request.
    pub fn observed(&self, ok: bool) {
        if ok {
            self.failures.store(0, Ordering::Release);
            self.healthy.store(true, Ordering::Release);
        } else if self.failures.fetch_add(1, Ordering::AcqRel) + 1 >= FAILURE_THRESHOLD
            && self.healthy.swap(false, Ordering::AcqRel)
        {
            tracing::warn!(
                "predictor marked unhealthy after {FAILURE_THRESHOLD} failed requests in a row"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passive_failures_mark_unhealthy_after_the_threshold() {
        let h = Health::default();
        h.checked(true);
        h.observed(false);
        h.observed(false);
        assert!(h.is_healthy(), "two failures are not enough");
        h.observed(false);
        assert!(!h.is_healthy());
        h.observed(true);
        assert!(h.is_healthy(), "a success heals");
        h.checked(false);
        assert!(!h.is_healthy());
    }
}
