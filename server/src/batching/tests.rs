//! The batcher end to end with a stand-in runner and tokio's paused clock:
//! timings are exact and the tests take no real time.
use std::sync::Mutex;
use std::time::Duration;

use infergate_proto::{Tensor, TensorData};

use super::tensors::{batch_key, run_joined};
use super::*;

/// Doubles every value after `delay`, recording the batch sizes it saw;
/// fails batches containing a negative value.
struct Doubler {
    delay: Duration,
    batches: Mutex<Vec<usize>>,
}

#[async_trait]
impl BatchRunner for Doubler {
    type Input = Vec<Tensor>;
    type Output = Vec<Tensor>;
    type Error = BatchError;

    async fn run(
        &self,
        batch: Vec<Vec<Tensor>>,
        rows: &[usize],
    ) -> Vec<Result<Vec<Tensor>, BatchError>> {
        run_joined(batch, rows, |inputs| async move {
            self.batches.lock().unwrap().push(inputs[0].shape[0]);
            tokio::time::sleep(self.delay).await;
            let TensorData::Int32(v) = &inputs[0].data else {
                unreachable!()
            };
            if v.iter().any(|x| *x < 0) {
                return Err(BatchError::Join("negative input".into()));
            }
            let out = v.iter().map(|x| x * 2).collect();
            Ok(vec![
                Tensor::new("y", inputs[0].shape.clone(), TensorData::Int32(out)).unwrap(),
            ])
        })
        .await
    }
}

/// Queues `values` as one request of that many rows.
async fn infer(b: &Batcher<Doubler>, values: &[i32]) -> Result<Vec<Tensor>, BatchError> {
    let inputs = rows(values);
    let (key, n) = batch_key(&inputs)?;
    b.infer(key, n, inputs).await
}

fn settings(max: usize, delay_ms: u64, queue: usize, timeout_ms: u64) -> BatchSettings {
    BatchSettings {
        max_batch_size: max,
        max_queue_delay: Duration::from_millis(delay_ms),
        preferred_batch_sizes: vec![],
        max_queue_size: queue,
        timeout: (timeout_ms > 0).then(|| Duration::from_millis(timeout_ms)),
    }
}

fn rows(values: &[i32]) -> Vec<Tensor> {
    vec![
        Tensor::new(
            "x",
            vec![values.len(), 1],
            TensorData::Int32(values.to_vec()),
        )
        .unwrap(),
    ]
}

fn start(s: BatchSettings, delay_ms: u64) -> (Arc<Batcher<Doubler>>, Arc<Doubler>) {
    let runner = Arc::new(Doubler {
        delay: Duration::from_millis(delay_ms),
        batches: Mutex::new(vec![]),
    });
    (Arc::new(Batcher::start("m", s, 1, runner.clone())), runner)
}

fn values(out: &[Tensor]) -> Vec<i32> {
    match &out[0].data {
        TensorData::Int32(v) => v.clone(),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn concurrent_requests_share_a_batch_and_get_their_own_rows() {
    let (b, runner) = start(settings(8, 5, 100, 0), 10);
    let t0 = Instant::now();
    let calls: Vec<_> = [vec![1, 2], vec![3], vec![4, 5, 6]]
        .into_iter()
        .map(|v| {
            let b = b.clone();
            tokio::spawn(async move { infer(&b, &v).await })
        })
        .collect();
    let mut answers = Vec::new();
    for c in calls {
        answers.push(values(&c.await.unwrap().unwrap()));
    }
    assert_eq!(answers, [vec![2, 4], vec![6], vec![8, 10, 12]]);
    assert_eq!(
        *runner.batches.lock().unwrap(),
        [6],
        "one batch of all six rows"
    );
    // Waited the queue delay (5 ms), then ran (10 ms).
    assert_eq!(t0.elapsed(), Duration::from_millis(15));
}

#[tokio::test(start_paused = true)]
async fn full_batches_do_not_wait_for_the_delay() {
    let (b, runner) = start(settings(2, 1000, 100, 0), 10);
    let t0 = Instant::now();
    let (x, y) = tokio::join!(infer(&b, &[1]), infer(&b, &[2]));
    assert_eq!(
        (values(&x.unwrap()), values(&y.unwrap())),
        (vec![2], vec![4])
    );
    assert_eq!(*runner.batches.lock().unwrap(), [2]);
    assert_eq!(
        t0.elapsed(),
        Duration::from_millis(10),
        "sent at once, not after 1 s"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_batch_answers_every_member_with_the_error() {
    let (b, _) = start(settings(8, 5, 100, 0), 1);
    let (x, y) = tokio::join!(infer(&b, &[1]), infer(&b, &[-1]));
    for r in [x, y] {
        assert!(r.unwrap_err().to_string().contains("negative input"));
    }
}

#[tokio::test(start_paused = true)]
async fn queue_full_is_refused_at_once_and_timeouts_answer() {
    // One worker busy for 100 ms, room for two waiting requests.
    let (b, _) = start(settings(1, 0, 2, 50), 100);
    assert!(b.admit().is_ok());
    let first = tokio::spawn({
        let b = b.clone();
        async move { infer(&b, &[1]).await }
    });
    tokio::time::sleep(Duration::from_millis(1)).await;
    let waiting: Vec<_> = (0..2)
        .map(|i| {
            let b = b.clone();
            tokio::spawn(async move { infer(&b, &[i]).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert!(
        b.admit() == Err(BatchError::QueueFull("m".into())),
        "two waiting fill the queue: refused before its body is read"
    );
    let t = Instant::now();
    let err = infer(&b, &[9]).await.unwrap_err();
    assert!(matches!(err, BatchError::QueueFull(_)), "{err}");
    assert_eq!(t.elapsed(), Duration::ZERO, "refused without waiting");
    // The two waiting requests time out after 50 ms in the queue.
    for w in waiting {
        assert!(matches!(
            w.await.unwrap(),
            Err(BatchError::QueueTimeout(_, 50))
        ));
    }
    assert!(b.admit().is_ok(), "room again once they left the queue");
    assert_eq!(values(&first.await.unwrap().unwrap()), [2]);
}

#[tokio::test(start_paused = true)]
async fn p99_stays_within_delay_plus_compute_under_a_burst() {
    // 40 requests at once, batches of 8, 5 ms delay, 10 ms per batch: the
    // last request waits for four earlier batches.
    let (b, runner) = start(settings(8, 5, 100, 0), 10);
    let t0 = Instant::now();
    let calls: Vec<_> = (0..40)
        .map(|i| {
            let b = b.clone();
            tokio::spawn(async move {
                let out = infer(&b, &[i]).await.unwrap();
                (values(&out)[0], Instant::now())
            })
        })
        .collect();
    for (i, c) in calls.into_iter().enumerate() {
        let (v, done) = c.await.unwrap();
        assert_eq!(v, 2 * i as i32, "request {i} got another's row");
        assert!(done - t0 <= Duration::from_millis(5 + 5 * 10));
    }
    assert_eq!(*runner.batches.lock().unwrap(), [8, 8, 8, 8, 8]);
}
