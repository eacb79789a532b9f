//! Finding and starting ONNX Runtime. The shared library is loaded at run
//! time (ort's `load-dynamic`): from `--ort_library` / `ORT_DYLIB_PATH`, else
//! from the `onnxruntime` wheel in the project's `.venv`, else from the
//! system's library path.
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::error::PredictorError;

/// Where to run sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    Cpu,
    Cuda(i32),
    /// CUDA device 0 when it can be used, CPU otherwise.
    Auto,
}

impl std::str::FromStr for Device {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "cpu" => Ok(Device::Cpu),
            "auto" => Ok(Device::Auto),
            "cuda" => Ok(Device::Cuda(0)),
            other => other
                .strip_prefix("cuda:")
                .and_then(|n| n.parse::<i32>().ok())
                .filter(|n| *n >= 0)
                .map(Device::Cuda)
                .ok_or_else(|| format!("unknown device '{other}': use cpu, cuda, cuda:N or auto")),
        }
    }
}

/// Library file names to try inside a directory, newest naming first.
fn library_in(dir: &Path) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("libonnxruntime.so"))
        })
        .collect();
    found.sort();
    found.pop()
}

/// The onnxruntime wheel's `capi` directory inside a virtual environment.
fn wheel_capi_dirs(venv: &Path) -> Vec<PathBuf> {
    let lib = venv.join("lib");
    let Ok(entries) = std::fs::read_dir(&lib) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("site-packages/onnxruntime/capi"))
        .filter(|p| p.is_dir())
        .collect()
}

/// The library to load: the explicit path if given, else the first found in
/// a project virtual environment (`.venv`, `.venv-gpu`) in the working
/// directory, the executable's directory or any directory above them, else
/// the bare name for the system loader.
pub fn locate_library(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    let mut starts = vec![std::env::current_dir().unwrap_or_default()];
    if let Ok(exe) = std::env::current_exe() {
        starts.push(exe);
    }
    for start in &starts {
        for dir in start.ancestors() {
            for venv in [".venv", ".venv-gpu"] {
                for capi in wheel_capi_dirs(&dir.join(venv)) {
                    if let Some(lib) = library_in(&capi) {
                        return lib;
                    }
                }
            }
        }
    }
    PathBuf::from("libonnxruntime.so")
}

/// The loaded library and the process-wide ONNX Runtime environment.
struct Runtime {
    library: PathBuf,
    environment: ort::environment::Environment,
}

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

/// Loads ONNX Runtime once per process and returns the library it loaded;
/// later calls return the first result, whatever path they pass.
pub fn init(explicit: Option<&Path>) -> Result<PathBuf, PredictorError> {
    RUNTIME
        .get_or_init(|| {
            let path = locate_library(explicit);
            let loaded = ort::init_from(&path)
                .map_err(|e| e.to_string())
                .and_then(|b| b.with_name("infergate").build().map_err(|e| e.to_string()));
            match loaded {
                Ok(environment) => Ok(Runtime {
                    library: path,
                    environment,
                }),
                Err(e) => Err(format!(
                    "cannot load the ONNX Runtime library {}: {e}. Install it with \
                     `bash scripts/venv.sh requirements.txt` (the onnxruntime wheel, >= 1.31, \
                     carries it) or point ORT_DYLIB_PATH / --ort_library at libonnxruntime.so",
                    path.display()
                )),
            }
        })
        .as_ref()
        .map(|r| r.library.clone())
        .map_err(|e| PredictorError::Runtime(e.clone()))
}

/// The environment sessions are built in; [`init`] must have succeeded.
pub fn environment() -> Result<&'static ort::environment::Environment, PredictorError> {
    match RUNTIME.get() {
        Some(Ok(r)) => Ok(&r.environment),
        Some(Err(e)) => Err(PredictorError::Runtime(e.clone())),
        None => Err(PredictorError::Runtime(
            "ONNX Runtime is not loaded yet".into(),
        )),
    }
}

/// Intra-op threads when not configured: the CPUs this process may use
/// (the standard library reads the cgroup CPU quota).
pub fn default_intra_op_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
