//! ONNX Runtime sessions on dedicated threads behind an async handle. Each
//! instance owns one session on its own OS thread (ORT's `run` is blocking
//! and CPU-bound, so it never runs on the async runtime); requests reach the
//! instances through one bounded queue.
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use infergate_proto::{Tensor, TensorMetadata};
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use tokio::sync::oneshot;

use crate::convert;
use crate::error::{BatchError, PredictorError, Result};
use crate::runtime::{self, Device};

/// How to build the sessions of one model.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    pub device: Device,
    pub intra_op_threads: usize,
    /// Sessions (and threads) serving the model in parallel.
    pub instances: usize,
    /// Requests that may wait for a free instance before 429.
    pub queue_capacity: usize,
}

struct Job {
    inputs: Vec<Tensor>,
    reply: oneshot::Sender<Result<Vec<Tensor>>>,
}

/// A model's sessions and the graph's declared inputs and outputs.
pub struct SessionPool {
    model: String,
    jobs: SyncSender<Job>,
    pub inputs: Vec<TensorMetadata>,
    pub outputs: Vec<TensorMetadata>,
    pub device: Device,
}

fn load_error(model: &str, reason: impl std::fmt::Display) -> PredictorError {
    PredictorError::Load {
        model: model.to_string(),
        reason: reason.to_string(),
    }
}

/// Builds one session, on the device asked for. `Auto` tries CUDA first and
/// says so when it falls back to CPU.
fn build_session(model: &str, file: &Path, opts: &SessionOptions) -> Result<(Session, Device)> {
    let env = runtime::environment()?;
    let builder = || {
        Session::builder(env)
            .and_then(|b| {
                b.with_optimization_level(GraphOptimizationLevel::Level3)
                    .map_err(Into::into)
            })
            .and_then(|b| {
                b.with_intra_threads(opts.intra_op_threads)
                    .map_err(Into::into)
            })
            .and_then(|b| b.with_intra_op_spinning(false).map_err(Into::into))
            .map_err(|e: ort::Error| load_error(model, e))
    };
    let cuda = |id: i32| -> Result<Session> {
        let ep = ort::ep::CUDA::default()
            .with_device_id(id)
            .build()
            .error_on_failure();
        builder()?
            .with_execution_providers([ep])
            .map_err(|e| {
                let why = e.to_string();
                load_error(
                    model,
                    format!(
                        "CUDA device {id} is not usable: {}. Use the onnxruntime-gpu wheel's library \
                         (ORT_DYLIB_PATH) on a machine with an NVIDIA GPU, or --device cpu / auto",
                        why.trim_end_matches('.')
                    ),
                )
            })?
            .commit_from_file(file)
            .map_err(|e| load_error(model, e))
    };
    match opts.device {
        Device::Cpu => Ok((
            builder()?
                .commit_from_file(file)
                .map_err(|e| load_error(model, e))?,
            Device::Cpu,
        )),
        Device::Cuda(id) => Ok((cuda(id)?, Device::Cuda(id))),
        Device::Auto => match cuda(0) {
            Ok(s) => Ok((s, Device::Cuda(0))),
            Err(e) => {
                // Expected wherever there is no GPU: auto means "CPU then".
                tracing::info!(model, "--device auto: CUDA is not available, using the CPU");
                tracing::debug!(model, "--device auto: {e}");
                Ok((
                    builder()?
                        .commit_from_file(file)
                        .map_err(|e| load_error(model, e))?,
                    Device::Cpu,
                ))
            }
        },
    }
}

impl SessionPool {
    /// Loads `file` into `opts.instances` sessions. Blocking: call it from a
    /// blocking context.
    pub fn load(model: &str, file: &Path, opts: &SessionOptions) -> Result<Self> {
        let (first, device) = build_session(model, file, opts)?;
        let describe = |outlets: &[ort::value::Outlet]| {
            outlets
                .iter()
                .map(|o| {
                    convert::metadata_of(o.name(), o.dtype()).map_err(|e| load_error(model, e))
                })
                .collect::<Result<Vec<_>>>()
        };
        let inputs = describe(first.inputs())?;
        let outputs = describe(first.outputs())?;
        let mut sessions = vec![first];
        for _ in 1..opts.instances.max(1) {
            sessions.push(
                build_session(
                    model,
                    file,
                    &SessionOptions {
                        device,
                        ..opts.clone()
                    },
                )?
                .0,
            );
        }
        let (jobs, queue) = sync_channel::<Job>(opts.queue_capacity.max(1));
        let queue = Arc::new(Mutex::new(queue));
        for (i, session) in sessions.into_iter().enumerate() {
            let queue = queue.clone();
            let name = model.to_string();
            std::thread::Builder::new()
                .name(format!("ort-{model}-{i}"))
                .spawn(move || worker(&name, session, &queue))
                .map_err(|e| load_error(model, format!("cannot start a session thread: {e}")))?;
        }
        Ok(SessionPool {
            model: model.to_string(),
            jobs,
            inputs,
            outputs,
            device,
        })
    }

    /// Runs the graph on `inputs` (named as the graph's inputs) and returns
    /// every output, in the graph's order.
    pub async fn run(&self, inputs: Vec<Tensor>) -> Result<Vec<Tensor>> {
        let (reply, answer) = oneshot::channel();
        match self.jobs.try_send(Job { inputs, reply }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                return Err(BatchError::QueueFull(self.model.clone()).into());
            }
            Err(TrySendError::Disconnected(_)) => {
                return Err(BatchError::Stopped(self.model.clone()).into());
            }
        }
        answer
            .await
            .map_err(|_| BatchError::Stopped(self.model.clone()))?
    }
}

/// One instance: takes jobs until the pool is dropped.
fn worker(model: &str, mut session: Session, queue: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only while waiting for the next job.
        let job = match queue.lock() {
            Ok(rx) => rx.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        let Ok(job) = job else { return };
        if job.reply.is_closed() {
            continue; // the caller went away while queued
        }
        let result = run_once(&mut session, &job.inputs);
        if let Err(e) = &result {
            tracing::debug!(model, error = %e, "session run failed");
        }
        let _ = job.reply.send(result);
    }
}

fn run_once(session: &mut Session, inputs: &[Tensor]) -> Result<Vec<Tensor>> {
    let values = inputs
        .iter()
        .map(|t| Ok((t.name.as_str(), convert::to_ort(t)?)))
        .collect::<Result<Vec<_>>>()?;
    let outputs = session
        .run(values)
        .map_err(|e| PredictorError::from_ort(&e))?;
    outputs
        .iter()
        .map(|(name, value)| convert::from_ort(name, &value))
        .collect()
}
