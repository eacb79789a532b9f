//! Request timeouts without a timer per request. A tokio timer armed and
//! cancelled around every request cost a quarter of the generator's
//! throughput; instead each worker publishes when its request started, and
//! one watchdog task per measurement expires the overdue ones every tick.
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::task::AtomicWaker;

/// One worker's request, as the watchdog sees it.
#[derive(Default)]
pub struct Slot {
    /// Nanoseconds since the watchdog's origin, plus one; 0 when idle.
    started: AtomicU64,
    expired: AtomicBool,
    waker: AtomicWaker,
}

pub struct Watchdog {
    origin: Instant,
    timeout: Duration,
    slots: Vec<Arc<Slot>>,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Watchdog {
    /// `timeout` zero means none: the slots then never expire.
    pub fn new(workers: usize, timeout: Duration) -> Self {
        Watchdog {
            origin: Instant::now(),
            timeout,
            slots: (0..workers).map(|_| Arc::default()).collect(),
        }
    }

    pub fn slot(&self, i: usize) -> Guard {
        Guard {
            origin: self.origin,
            slot: self.slots[i].clone(),
        }
    }

    /// How often overdue requests are looked for: a tenth of the timeout
    /// (so a request is cut within 10% of it), at least every millisecond.
    pub fn tick(&self) -> Duration {
        (self.timeout / 10).clamp(Duration::from_millis(1), Duration::from_millis(250))
    }

    /// Expires every request older than the timeout; returns how many.
    pub fn sweep(&self) -> usize {
        if self.timeout.is_zero() {
            return 0;
        }
        let now = nanos(self.origin.elapsed()) + 1;
        let limit = nanos(self.timeout);
        let mut expired = 0;
        for s in &self.slots {
            let started = s.started.load(Ordering::Acquire);
            if started != 0
                && now.saturating_sub(started) >= limit
                && !s.expired.swap(true, Ordering::AcqRel)
            {
                s.waker.wake();
                expired += 1;
            }
        }
        expired
    }

    /// Sweeps every tick until `done` is set.
    pub async fn run(self: Arc<Self>, done: Arc<AtomicBool>) {
        if self.timeout.is_zero() {
            return;
        }
        let mut tick = tokio::time::interval(self.tick());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !done.load(Ordering::Relaxed) {
            tick.tick().await;
            self.sweep();
        }
    }
}

/// A worker's handle on its slot.
pub struct Guard {
    origin: Instant,
    slot: Arc<Slot>,
}

impl Guard {
    /// Runs `fut`, started at `start` (the caller's clock reading, saving
    /// one); `None` if the watchdog expired it first.
    pub async fn run<T>(&self, start: Instant, fut: impl Future<Output = T>) -> Option<T> {
        let s = &self.slot;
        s.expired.store(false, Ordering::Relaxed);
        let since = start.saturating_duration_since(self.origin);
        s.started.store(nanos(since) + 1, Ordering::Release);
        let out = tokio::select! {
            biased;
            v = fut => Some(v),
            () = Expired(s) => None,
        };
        s.started.store(0, Ordering::Release);
        out
    }
}

struct Expired<'a>(&'a Slot);

impl Future for Expired<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.expired.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        self.0.waker.register(cx.waker());
        // Set between the first look and the registration: seen now.
        if self.0.expired.load(Ordering::Acquire) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn overdue_requests_expire_and_quick_ones_do_not() {
        let dog = Arc::new(Watchdog::new(2, Duration::from_millis(50)));
        let done = Arc::new(AtomicBool::new(false));
        let sweeper = tokio::spawn(dog.clone().run(done.clone()));
        let (slow, quick) = (dog.slot(0), dog.slot(1));
        let start = Instant::now();
        let r = slow
            .run(Instant::now(), tokio::time::sleep(Duration::from_secs(5)))
            .await;
        assert!(r.is_none());
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(50) && waited < Duration::from_secs(2),
            "{waited:?}"
        );
        assert_eq!(quick.run(Instant::now(), async { 7 }).await, Some(7));
        // A slot is reusable after it expired.
        assert_eq!(slow.run(Instant::now(), async { 8 }).await, Some(8));
        done.store(true, Ordering::Relaxed);
        sweeper.await.unwrap();
        let none = Watchdog::new(1, Duration::ZERO);
        assert_eq!(none.sweep(), 0);
    }
}
