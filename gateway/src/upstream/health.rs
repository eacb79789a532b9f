//! Predictor health: active checks on an interval (the model's ready
//! endpoint / ModelReady), checks made when a readiness probe asks (answered
//! from a short cache so probes do not become load on the predictor), and
//! passive marking from real requests: a refused connection marks it
//! unhealthy at once, other failures after a few in a row. Any success
//! marks it healthy again.
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Consecutive failed requests (other than refused connections) that mark
/// the predictor unhealthy.
const FAILURE_THRESHOLD: u32 = 3;

#[derive(Default)]
pub struct Health {
    healthy: AtomicBool,
    failures: AtomicU32,
    /// When the state was last learnt first hand (a check, a refused
    /// connection, an answered request).
    learnt_at: Mutex<Option<Instant>>,
}

impl Health {
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Acquire)
    }

    /// The state, if it was learnt within `max_age`.
    pub fn fresh(&self, max_age: Duration) -> Option<bool> {
        let at = *self.learnt_at.lock().ok()?;
        at.filter(|t| t.elapsed() <= max_age)
            .map(|_| self.is_healthy())
    }

    fn learnt(&self) {
        if let Ok(mut at) = self.learnt_at.lock() {
            *at = Some(Instant::now());
        }
    }

    /// The outcome of an active check.
    pub fn checked(&self, ok: bool) {
        if ok {
            self.failures.store(0, Ordering::Release);
        }
        self.learnt();
        let was = self.healthy.swap(ok, Ordering::AcqRel);
        if was != ok {
            tracing::info!(healthy = ok, "predictor health changed");
        }
    }

    /// The predictor refused the connection: nothing listens there now.
    pub fn refused(&self) {
        self.learnt();
        if self.healthy.swap(false, Ordering::AcqRel) {
            tracing::warn!("predictor marked unhealthy: it refused a connection");
        }
    }

    /// The outcome of a real request.
    pub fn observed(&self, ok: bool) {
        if ok {
            self.failures.store(0, Ordering::Release);
            self.learnt();
            if !self.healthy.swap(true, Ordering::AcqRel) {
                tracing::info!(healthy = true, "predictor health changed");
            }
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

    #[test]
    fn a_refused_connection_marks_unhealthy_at_once() {
        let h = Health::default();
        h.checked(true);
        h.refused();
        assert!(!h.is_healthy());
        assert_eq!(h.fresh(Duration::from_secs(1)), Some(false));
    }

    #[test]
    fn the_state_is_fresh_only_for_its_age() {
        let h = Health::default();
        assert_eq!(h.fresh(Duration::from_secs(60)), None, "never learnt");
        h.checked(true);
        assert_eq!(h.fresh(Duration::from_secs(60)), Some(true));
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(h.fresh(Duration::from_millis(5)), None, "too old");
    }
}
