//! Any text as a model's `config.toml`: parsing and checking it, then using
//! what it allows (batch settings, version selection, shape overrides on a
//! graph's metadata) must give a value or an error, never a panic.
#![no_main]
use infergate_predictor::model_config::ModelConfig;
use infergate_proto::{DataType, TensorMetadata};
use libfuzzer_sys::fuzz_target;

fn tensor(name: &str, shape: &[i64]) -> TensorMetadata {
    TensorMetadata {
        name: name.into(),
        datatype: DataType::Fp32,
        shape: shape.to_vec(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = ModelConfig::parse(text, "m") else {
        return;
    };
    if let Some(b) = config.batching() {
        assert!(
            b.max_batch_size > 0,
            "a checked config batches at least one"
        );
    }
    let _ = config.version_policy.select(&[1, 2, 3, 7, u64::MAX]);
    let _ = config.version_policy.select(&[]);
    let mut inputs = [tensor("x", &[-1, 4]), tensor("input_ids", &[-1, -1])];
    let mut outputs = [tensor("y", &[-1])];
    let _ = config.apply_overrides("m", &mut inputs, &mut outputs);
});
