//! Retries that cannot amplify an overload: only failures where the request
//! provably did not reach the predictor are retried, with exponential
//! backoff and jitter, and a budget (tower's `TpsBudget`) caps retries at a
//! fraction of the recent request rate.
use std::future::Future;
use std::time::Duration;

use tower::retry::budget::{Budget, TpsBudget};

use super::error::UpstreamError;

/// Share of extra load retries may add.
const RETRY_PERCENT: f32 = 0.2;
/// Retries per second allowed regardless of traffic, so that a quiet
/// transformer can still retry its occasional request.
const MIN_RETRIES_PER_SEC: u32 = 10;
const BASE_DELAY: Duration = Duration::from_millis(50);
const MAX_DELAY: Duration = Duration::from_secs(2);

pub struct RetryPolicy {
    max_retries: u32,
    budget: TpsBudget,
}

impl RetryPolicy {
    pub fn new(max_retries: u32) -> Self {
        RetryPolicy {
            max_retries,
            budget: TpsBudget::new(Duration::from_secs(10), MIN_RETRIES_PER_SEC, RETRY_PERCENT),
        }
    }

    /// The pause before retry `n` (1-based): exponential, half of it random.
    pub fn backoff(n: u32) -> Duration {
        let full = BASE_DELAY
            .saturating_mul(1u32 << (n - 1).min(16))
            .min(MAX_DELAY);
        full / 2 + full.mul_f64(fastrand::f64() / 2.0)
    }

    /// Runs `attempt` until it succeeds, fails for good, or retries run out.
    pub async fn run<T, F, Fut>(&self, mut attempt: F) -> Result<T, UpstreamError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, UpstreamError>>,
    {
        self.budget.deposit();
        let mut retries = 0;
        loop {
            match attempt().await {
                Err(e) if e.is_retryable() && retries < self.max_retries => {
                    if !self.budget.withdraw() {
                        tracing::warn!(error = %e, "not retrying: the retry budget is spent");
                        return Err(e);
                    }
                    retries += 1;
                    let pause = Self::backoff(retries);
                    tracing::debug!(error = %e, retries, ?pause, "retrying predictor call");
                    // An event on the request's trace (exported spans only).
                    tracing::info!(
                        target: infergate_server::otel::TARGET,
                        error = %e,
                        retry = retries,
                        "retry"
                    );
                    metrics::counter!("infergate_upstream_retries_total").increment(1);
                    tokio::time::sleep(pause).await;
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn unreachable() -> UpstreamError {
        UpstreamError::Unreachable {
            host: "p".into(),
            reason: "refused".into(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_only_what_did_not_reach_the_predictor() {
        let policy = RetryPolicy::new(3);
        let calls = AtomicU32::new(0);
        let r: Result<(), _> = policy
            .run(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(UpstreamError::Status {
                    status: 500,
                    message: "boom".into(),
                })
            })
            .await;
        assert!(r.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1, "a 500 is never retried");

        calls.store(0, Ordering::SeqCst);
        let r = policy
            .run(|| async {
                if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                    Err(unreachable())
                } else {
                    Ok(7)
                }
            })
            .await;
        assert_eq!(r.unwrap(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 3);

        calls.store(0, Ordering::SeqCst);
        let r: Result<(), _> = policy
            .run(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(unreachable())
            })
            .await;
        assert!(r.unwrap_err().is_retryable());
        assert_eq!(calls.load(Ordering::SeqCst), 4, "1 try + 3 retries");
    }

    #[tokio::test(start_paused = true)]
    async fn the_budget_caps_retries_under_load() {
        // 1000 requests failing at the same time: retries stay near 20% of
        // them plus the floor (10/s over the 10 s window), not 3 each.
        let policy = RetryPolicy::new(3);
        let calls = AtomicU32::new(0);
        let all = (0..1000).map(|_| {
            policy.run(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(unreachable())
            })
        });
        futures::future::join_all(all).await;
        let retries = calls.load(Ordering::SeqCst) - 1000;
        assert!(
            retries <= 1000 / 5 + 10 * 10 + 10,
            "{retries} retries for 1000 requests"
        );
        assert!(retries >= 100, "the budget still allows some: {retries}");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        for n in 1..20 {
            let d = RetryPolicy::backoff(n);
            let full = BASE_DELAY
                .saturating_mul(1 << (n - 1).min(16))
                .min(MAX_DELAY);
            assert!(d >= full / 2 && d <= full, "retry {n}: {d:?}");
        }
    }
}
