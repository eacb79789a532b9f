//! The bound on predictor calls in flight. Without it a slow predictor makes
//! the transformer hold every caller's request (and its buffers) for up to
//! the request timeout; with it the excess is refused at once, so memory and
//! the latency of admitted requests stay bounded under overload.
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::UpstreamError;

pub(super) struct InflightLimit {
    limit: usize,
    permits: Option<Arc<Semaphore>>,
}

impl InflightLimit {
    /// `limit` calls at once; 0 means no limit.
    pub(super) fn new(limit: usize) -> Self {
        let permits = (limit > 0).then(|| Arc::new(Semaphore::new(limit)));
        InflightLimit { limit, permits }
    }

    /// A place for one call, held until the returned permit is dropped, or
    /// `Overloaded` at once when every place is taken.
    pub(super) fn admit(&self) -> Result<Option<OwnedSemaphorePermit>, UpstreamError> {
        match &self.permits {
            None => Ok(None),
            Some(s) => s
                .clone()
                .try_acquire_owned()
                .map(Some)
                .map_err(|_| UpstreamError::Overloaded { limit: self.limit }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_call_past_the_limit_is_refused_until_one_ends() {
        let limit = InflightLimit::new(2);
        let a = limit.admit().unwrap();
        let _b = limit.admit().unwrap();
        let refused = limit.admit().unwrap_err();
        assert!(matches!(refused, UpstreamError::Overloaded { limit: 2 }));
        assert!(
            refused
                .to_string()
                .contains("--predictor_max_inflight_requests")
        );
        drop(a);
        assert!(limit.admit().is_ok());
    }

    #[test]
    fn zero_means_no_limit() {
        let limit = InflightLimit::new(0);
        let held: Vec<_> = (0..10_000).map(|_| limit.admit().unwrap()).collect();
        assert!(held.iter().all(Option::is_none));
    }
}
