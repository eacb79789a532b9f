//! The predictor's model flags in a build without the `predictor` feature:
//! still parsed (so a mistaken predictor deployment fails at start with a
//! clear reason instead of an "unknown flag ignored" warning), never served.
use std::path::PathBuf;

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Predictor (not in this build)")]
pub struct PredictorFlags {
    /// Refused: this build has no predictor (use the infergate-predictor image).
    #[arg(long = "model_dir", env = "INFERGATE_MODEL_DIR")]
    pub model_dir: Option<PathBuf>,

    /// Refused: this build has no predictor (use the infergate-predictor image).
    #[arg(long = "storage_uri", env = "INFERGATE_STORAGE_URI")]
    pub storage_uri: Option<String>,
}
