//! The batch queue as a plain state machine: what to do next is a function
//! of the pending requests, the free workers and the time, so every rule is
//! tested without threads or real clocks.
//!
//! Rules (after Triton's dynamic batcher):
//! * requests whose inputs agree on everything but the first dimension (the
//!   batch key) may share a batch; the oldest request always goes first;
//! * a batch is sent as soon as its rows reach a preferred size or
//!   `max_batch_size`, or a waiting request cannot fit in it, or when its
//!   oldest request has waited `max_queue_delay`, whichever comes first, and
//!   only to a free worker; a batch never exceeds `max_batch_size`;
//! * beyond `max_queue_size` waiting requests a new one is refused at once;
//! * a request waiting longer than `timeout` is taken out and answered.
use std::collections::VecDeque;

use tokio::time::Instant;

use super::BatchSettings;

/// What two requests must share to be batched (per input: name, datatype and
/// every dimension after the first), as a keyed hash: the queue compares keys
/// on every scan, and building a key must not allocate. `split::concat`
/// checks the real shapes, so a collision can never join mismatched tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchKey(pub u64);

#[derive(Debug)]
pub struct Pending<R> {
    pub rows: usize,
    pub key: BatchKey,
    pub enqueued: Instant,
    pub item: R,
}

#[derive(Debug)]
pub enum Decision<R> {
    /// Run these requests as one batch, in this order.
    Dispatch(Vec<Pending<R>>),
    /// Nothing to send before this time (unless a request or a worker arrives).
    WaitUntil(Instant),
    /// Nothing to do until a request or a worker arrives.
    Idle,
}

pub struct BatchQueue<R> {
    settings: BatchSettings,
    pending: VecDeque<Pending<R>>,
    free_workers: usize,
    /// Scratch for `poll`, kept to save an allocation per call.
    chosen: Vec<usize>,
}

impl<R> BatchQueue<R> {
    pub fn new(settings: BatchSettings, workers: usize) -> Self {
        BatchQueue {
            settings,
            pending: VecDeque::new(),
            free_workers: workers.max(1),
            chosen: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    pub fn settings(&self) -> &BatchSettings {
        &self.settings
    }

    /// Queues a request, or hands it back when the queue is full.
    pub fn push(&mut self, p: Pending<R>) -> Result<(), Pending<R>> {
        if self.pending.len() >= self.settings.max_queue_size {
            return Err(p);
        }
        self.pending.push_back(p);
        Ok(())
    }

    /// A worker finished its batch.
    pub fn worker_done(&mut self) {
        self.free_workers += 1;
    }

    /// Removes the requests that waited past the timeout.
    pub fn take_expired(&mut self, now: Instant) -> Vec<Pending<R>> {
        let Some(timeout) = self.settings.timeout else {
            return Vec::new();
        };
        let (expired, kept): (Vec<_>, Vec<_>) = self
            .pending
            .drain(..)
            .partition(|p| now.saturating_duration_since(p.enqueued) >= timeout);
        self.pending = kept.into();
        expired
    }

    fn next_timeout(&self) -> Option<Instant> {
        let timeout = self.settings.timeout?;
        self.pending.iter().map(|p| p.enqueued + timeout).min()
    }

    /// The next thing to do at `now`.
    pub fn poll(&mut self, now: Instant) -> Decision<R> {
        let Some(head) = self.pending.front() else {
            return Decision::Idle;
        };
        if self.free_workers == 0 {
            return self
                .next_timeout()
                .map_or(Decision::Idle, Decision::WaitUntil);
        }
        let max = self.settings.max_batch_size;
        let mut chosen = std::mem::take(&mut self.chosen);
        chosen.clear();
        let mut rows = 0;
        let mut complete = false;
        for (i, p) in self.pending.iter().enumerate() {
            if p.key != head.key {
                continue;
            }
            if rows + p.rows > max {
                // This one waits for the next batch; waiting longer cannot
                // make it fit, so the batch goes now, topped up with any
                // later requests that still fit.
                complete = true;
                continue;
            }
            rows += p.rows;
            chosen.push(i);
            if rows == max || self.settings.preferred_batch_sizes.contains(&rows) {
                complete = true;
                break;
            }
        }
        let due = head.enqueued + self.settings.max_queue_delay;
        let decision = if complete || now >= due {
            self.free_workers -= 1;
            let batch = if chosen.last().copied() == chosen.len().checked_sub(1) {
                // The usual case: the oldest requests, in one piece.
                self.pending.drain(..chosen.len()).collect()
            } else {
                // Indices ascend; remove from the back so earlier ones stay valid.
                let mut batch: Vec<_> = chosen
                    .iter()
                    .rev()
                    .filter_map(|&i| self.pending.remove(i))
                    .collect();
                batch.reverse();
                batch
            };
            Decision::Dispatch(batch)
        } else {
            Decision::WaitUntil(self.next_timeout().map_or(due, |t| t.min(due)))
        };
        self.chosen = chosen;
        decision
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn settings(max: usize, delay_us: u64, preferred: &[usize]) -> BatchSettings {
        BatchSettings {
            max_batch_size: max,
            max_queue_delay: Duration::from_micros(delay_us),
            preferred_batch_sizes: preferred.to_vec(),
            max_queue_size: 4,
            timeout: None,
        }
    }

    fn key(width: usize) -> BatchKey {
        BatchKey(width as u64)
    }

    fn req(id: u32, rows: usize, width: usize, at: Instant) -> Pending<u32> {
        Pending {
            rows,
            key: key(width),
            enqueued: at,
            item: id,
        }
    }

    fn ids(d: Decision<u32>) -> Vec<u32> {
        match d {
            Decision::Dispatch(b) => b.into_iter().map(|p| p.item).collect(),
            other => panic!("expected a batch, got {other:?}"),
        }
    }

    #[test]
    fn waits_for_the_delay_then_sends_what_it_has() {
        let t0 = Instant::now();
        let mut q = BatchQueue::new(settings(8, 500, &[]), 1);
        assert!(matches!(q.poll(t0), Decision::Idle));
        q.push(req(1, 2, 4, t0)).unwrap();
        q.push(req(2, 1, 4, t0 + Duration::from_micros(100)))
            .unwrap();
        match q.poll(t0 + Duration::from_micros(200)) {
            Decision::WaitUntil(t) => assert_eq!(t, t0 + Duration::from_micros(500)),
            other => panic!("{other:?}"),
        }
        assert_eq!(ids(q.poll(t0 + Duration::from_micros(500))), [1, 2]);
        assert!(q.is_empty());
    }

    #[test]
    fn full_or_preferred_batches_go_at_once() {
        let t0 = Instant::now();
        let mut q = BatchQueue::new(settings(4, 10_000, &[3]), 2);
        q.push(req(1, 1, 4, t0)).unwrap();
        q.push(req(2, 2, 4, t0)).unwrap();
        q.push(req(3, 2, 4, t0)).unwrap();
        assert_eq!(ids(q.poll(t0)), [1, 2], "3 rows is a preferred size");
        q.push(req(4, 2, 4, t0)).unwrap();
        assert_eq!(ids(q.poll(t0)), [3, 4], "4 rows is max_batch_size");
    }

    #[test]
    fn never_exceeds_max_batch_size_and_keeps_order() {
        let t0 = Instant::now();
        let mut q = BatchQueue::new(settings(4, 0, &[]), 1);
        q.push(req(1, 3, 4, t0)).unwrap();
        q.push(req(2, 2, 4, t0)).unwrap();
        q.push(req(3, 1, 4, t0)).unwrap();
        assert_eq!(ids(q.poll(t0)), [1, 3], "2 would overflow; 3 fits after it");
        q.worker_done();
        assert_eq!(ids(q.poll(t0)), [2]);
    }

    #[test]
    fn mixed_shapes_are_batched_apart() {
        let t0 = Instant::now();
        let mut q = BatchQueue::new(settings(8, 0, &[]), 1);
        q.push(req(1, 1, 4, t0)).unwrap();
        q.push(req(2, 1, 5, t0)).unwrap();
        q.push(req(3, 1, 4, t0)).unwrap();
        assert_eq!(ids(q.poll(t0)), [1, 3]);
        q.worker_done();
        assert_eq!(ids(q.poll(t0)), [2]);
    }

    #[test]
    fn busy_workers_hold_batches_back() {
        let t0 = Instant::now();
        let mut q = BatchQueue::new(settings(8, 0, &[]), 1);
        q.push(req(1, 1, 4, t0)).unwrap();
        assert_eq!(ids(q.poll(t0)), [1]);
        q.push(req(2, 1, 4, t0)).unwrap();
        q.push(req(3, 1, 4, t0)).unwrap();
        assert!(
            matches!(q.poll(t0 + Duration::from_secs(1)), Decision::Idle),
            "no free worker"
        );
        q.worker_done();
        assert_eq!(
            ids(q.poll(t0 + Duration::from_secs(1))),
            [2, 3],
            "they accumulated meanwhile"
        );
    }

    #[test]
    fn a_full_queue_refuses_and_timeouts_expire() {
        let t0 = Instant::now();
        let mut s = settings(8, 1_000_000, &[]);
        s.timeout = Some(Duration::from_millis(2));
        let mut q = BatchQueue::new(s, 1);
        for i in 0..4 {
            q.push(req(i, 1, 4, t0 + Duration::from_millis(u64::from(i))))
                .unwrap();
        }
        assert_eq!(q.push(req(9, 1, 4, t0)).unwrap_err().item, 9);
        match q.poll(t0) {
            Decision::WaitUntil(t) => {
                assert_eq!(t, t0 + Duration::from_millis(2), "the first timeout")
            }
            other => panic!("{other:?}"),
        }
        let expired: Vec<_> = q
            .take_expired(t0 + Duration::from_millis(3))
            .into_iter()
            .map(|p| p.item)
            .collect();
        assert_eq!(expired, [0, 1]);
        assert_eq!(q.len(), 2);
    }
}
