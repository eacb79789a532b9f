//! The predictor's own flags, shared by `infergate-predictor` and by
//! `infergate` (which embeds the predictor when it has no --predictor_host).
//! KServe's `STORAGE_URI` and ONNX Runtime's `ORT_DYLIB_PATH` stand in for
//! INFERGATE_STORAGE_URI / INFERGATE_ORT_LIBRARY (the command-line loader
//! reads them, see `infergate_server::cli`).
use std::path::PathBuf;

use crate::runtime::Device;
use crate::storage::{self, FetchLimits};

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Predictor (ONNX Runtime)")]
pub struct PredictorFlags {
    /// Model repository: one folder per model (model.onnx or numbered version
    /// folders, optional config.toml), or a folder holding one .onnx file.
    /// With a remote --storage_uri, the folder the models are fetched into.
    #[arg(long = "model_dir", env = "INFERGATE_MODEL_DIR")]
    pub model_dir: Option<PathBuf>,

    /// Where the models come from (KServe's storage URI; env STORAGE_URI too,
    /// INFERGATE_STORAGE_URI winning when both are set). A local directory
    /// (path or file://) is served in place; a local file, http(s):// (a file,
    /// or a .tar/.tar.gz/.tgz/.zip archive, unpacked) and s3://bucket/prefix
    /// (every object below it) or s3://bucket/key (that one object) are
    /// fetched into --model_dir (default /mnt/models) before serving.
    #[arg(long = "storage_uri", env = "INFERGATE_STORAGE_URI")]
    pub storage_uri: Option<String>,

    /// The most bytes one --storage_uri fetch may write to disk, downloads and
    /// unpacked archives together (e.g. 500MiB, 32GiB).
    #[arg(long = "storage_max_bytes", env = "INFERGATE_STORAGE_MAX_BYTES",
          default_value = "32GiB", value_parser = storage::parse_byte_size)]
    pub storage_max_bytes: u64,

    /// An archive fetched with --storage_uri may unpack to at most this many
    /// times its own size (archive bombs expand a thousandfold).
    #[arg(
        long = "storage_max_expansion_ratio",
        env = "INFERGATE_STORAGE_MAX_EXPANSION_RATIO",
        default_value_t = storage::DEFAULT_MAX_EXPANSION_RATIO,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub storage_max_expansion_ratio: u64,

    /// Where sessions run: cpu, cuda, cuda:N, or auto (CUDA if usable, else CPU).
    #[arg(long = "device", env = "INFERGATE_DEVICE", default_value = "cpu")]
    pub device: Device,

    /// The ONNX Runtime shared library (env ORT_DYLIB_PATH too,
    /// INFERGATE_ORT_LIBRARY winning when both are set; default: the
    /// onnxruntime wheel in ./.venv, else the system's libonnxruntime.so).
    #[arg(long = "ort_library", env = "INFERGATE_ORT_LIBRARY")]
    pub ort_library: Option<PathBuf>,

    /// ONNX Runtime intra-op threads per model (default: the CPU quota).
    #[arg(long = "intra_op_threads", env = "INFERGATE_INTRA_OP_THREADS")]
    pub intra_op_threads: Option<usize>,
}

impl PredictorFlags {
    pub fn fetch_limits(&self) -> FetchLimits {
        FetchLimits {
            max_bytes: self.storage_max_bytes,
            max_expansion_ratio: self.storage_max_expansion_ratio,
        }
    }
}
