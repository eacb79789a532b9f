//! The predictor's own flags, shared by `infergate-predictor` and by
//! `infergate` (which embeds the predictor when it has no --predictor_host).
use std::path::PathBuf;

use crate::runtime::Device;

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Predictor (ONNX Runtime)")]
pub struct PredictorFlags {
    /// Model repository: one folder per model (model.onnx or numbered version
    /// folders, optional config.toml), or a folder holding one .onnx file.
    #[arg(long = "model_dir", env = "INFERGATE_MODEL_DIR")]
    pub model_dir: Option<PathBuf>,

    /// Where to fetch the models from before serving (KServe's storage URI):
    /// a local path, file://, http(s):// (a file or a .tar.gz/.zip archive) or
    /// s3://bucket/prefix. Fetched into --model_dir (default /mnt/models).
    #[arg(long = "storage_uri", env = "STORAGE_URI")]
    pub storage_uri: Option<String>,

    /// Where sessions run: cpu, cuda, cuda:N, or auto (CUDA if usable, else CPU).
    #[arg(long = "device", env = "INFERGATE_DEVICE", default_value = "cpu")]
    pub device: Device,

    /// The ONNX Runtime shared library (default: the onnxruntime wheel in
    /// ./.venv, else the system's libonnxruntime.so).
    #[arg(long = "ort_library", env = "ORT_DYLIB_PATH")]
    pub ort_library: Option<PathBuf>,

    /// ONNX Runtime intra-op threads per model (default: the CPU quota).
    #[arg(long = "intra_op_threads", env = "INFERGATE_INTRA_OP_THREADS")]
    pub intra_op_threads: Option<usize>,
}
