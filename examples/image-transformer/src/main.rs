//! `image-transformer`: infergate in transformer mode with [`ImageTransformer`]
//! as its preprocess/postprocess. Takes every infergate/KServe flag
//! (`--model_name`, `--predictor_host`, `--predictor_protocol`, ...); the
//! image settings come from IMAGE_SIZE and IMAGE_INPUT_NAME.
use std::process::ExitCode;
use std::sync::Arc;

use infergate_example_image_transformer::ImageTransformer;

fn main() -> ExitCode {
    match ImageTransformer::from_env() {
        Ok(transformer) => infergate_gateway::main_with(Some(Arc::new(transformer))),
        Err(e) => {
            eprintln!("image-transformer: {e}");
            ExitCode::from(2)
        }
    }
}
