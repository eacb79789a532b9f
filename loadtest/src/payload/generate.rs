//! Inputs generated from a model's V2 metadata (as perf_analyzer does), with
//! `--input`, `--shape` and `--datatype` overrides and seeded random data.
use half::f16;
use infergate_proto::{DataType, Tensor, TensorData, TensorMetadata};

use crate::error::{LoadError, Result};

/// What to generate: the model's inputs and the user's overrides.
#[derive(Debug, Clone, Default)]
pub struct GenerateSpec {
    pub inputs: Vec<String>,
    pub shapes: Vec<String>,
    pub datatypes: Vec<String>,
    pub batch_size: usize,
    pub string_length: usize,
    pub seed: u64,
}

fn parse_dims(name: &str, dims: &str) -> Result<Vec<i64>> {
    if dims.trim().is_empty() {
        return Ok(Vec::new());
    }
    dims.split([',', 'x'])
        .map(|d| {
            d.trim()
                .parse::<i64>()
                .ok()
                .filter(|&v| v >= -1)
                .ok_or_else(|| LoadError::usage(format!("input '{name}': bad dimension '{d}'")))
        })
        .collect()
}

fn parse_datatype(name: &str, dt: &str) -> Result<DataType> {
    dt.trim()
        .to_ascii_uppercase()
        .parse()
        .map_err(|_| LoadError::usage(format!("input '{name}': unknown datatype '{dt}'")))
}

/// `NAME:DATATYPE:DIMS` (the name may itself hold colons).
pub fn parse_input_spec(spec: &str) -> Result<TensorMetadata> {
    let mut parts = spec.rsplitn(3, ':');
    let (dims, dt, name) = match (parts.next(), parts.next(), parts.next()) {
        (Some(d), Some(t), Some(n)) if !n.is_empty() => (d, t, n),
        _ => {
            return Err(LoadError::usage(format!(
                "--input '{spec}': expected NAME:DATATYPE:DIMS, e.g. INPUT0:FP32:1,16"
            )));
        }
    };
    Ok(TensorMetadata {
        name: name.to_string(),
        datatype: parse_datatype(name, dt)?,
        shape: parse_dims(name, dims)?,
    })
}

fn split_override<'a>(flag: &str, spec: &'a str) -> Result<(&'a str, &'a str)> {
    spec.rsplit_once(':')
        .filter(|(n, _)| !n.is_empty())
        .ok_or_else(|| LoadError::usage(format!("--{flag} '{spec}': expected NAME:VALUE")))
}

/// The inputs to generate: metadata, then `--input`, `--shape`, `--datatype`.
pub fn resolve_inputs(
    metadata: &[TensorMetadata],
    spec: &GenerateSpec,
) -> Result<Vec<TensorMetadata>> {
    let mut inputs = metadata.to_vec();
    for s in &spec.inputs {
        let t = parse_input_spec(s)?;
        match inputs.iter_mut().find(|i| i.name == t.name) {
            Some(existing) => *existing = t,
            None => inputs.push(t),
        }
    }
    let find = |inputs: &mut Vec<TensorMetadata>, flag: &str, name: &str| -> Result<usize> {
        inputs
            .iter()
            .position(|i| i.name == name)
            .ok_or_else(|| LoadError::usage(format!("--{flag}: the model has no input '{name}'")))
    };
    for s in &spec.shapes {
        let (name, dims) = split_override("shape", s)?;
        let i = find(&mut inputs, "shape", name)?;
        inputs[i].shape = parse_dims(name, dims)?;
    }
    for s in &spec.datatypes {
        let (name, dt) = split_override("datatype", s)?;
        let i = find(&mut inputs, "datatype", name)?;
        inputs[i].datatype = parse_datatype(name, dt)?;
    }
    if inputs.is_empty() {
        return Err(LoadError::payload(
            "the model's metadata lists no inputs: give --input NAME:DATATYPE:DIMS or --input-data FILE",
        ));
    }
    Ok(inputs)
}

/// A concrete shape: a leading -1 is the batch size, any other -1 must be overridden.
fn concrete_shape(t: &TensorMetadata, batch: usize) -> Result<Vec<usize>> {
    t.shape
        .iter()
        .enumerate()
        .map(|(i, &d)| match d {
            -1 if i == 0 => Ok(batch),
            -1 => Err(LoadError::payload(format!(
                "input '{}' has a dynamic dimension {i} in {:?}: give --shape {}:DIMS",
                t.name, t.shape, t.name
            ))),
            d => Ok(d as usize),
        })
        .collect()
}

/// Random tensors for `inputs`, the same for the same seed.
pub fn generate(inputs: &[TensorMetadata], spec: &GenerateSpec) -> Result<Vec<Tensor>> {
    let mut rng = fastrand::Rng::with_seed(spec.seed);
    inputs
        .iter()
        .map(|t| {
            let shape = concrete_shape(t, spec.batch_size)?;
            let n: usize = shape.iter().product();
            let data = random_data(&mut rng, t.datatype, n, spec.string_length);
            Ok(Tensor::new(t.name.clone(), shape, data)?)
        })
        .collect()
}

/// Values small enough for any model (no overflow in sums, valid indices for
/// small vocabularies); floats in [0, 1).
fn random_data(rng: &mut fastrand::Rng, dt: DataType, n: usize, len: usize) -> TensorData {
    macro_rules! fill {
        ($variant:ident, $f:expr) => {
            TensorData::$variant((0..n).map(|_| $f).collect())
        };
    }
    match dt {
        DataType::Bool => fill!(Bool, rng.bool()),
        DataType::Uint8 => fill!(Uint8, rng.u8(0..100)),
        DataType::Uint16 => fill!(Uint16, rng.u16(0..100)),
        DataType::Uint32 => fill!(Uint32, rng.u32(0..100)),
        DataType::Uint64 => fill!(Uint64, rng.u64(0..100)),
        DataType::Int8 => fill!(Int8, rng.i8(0..100)),
        DataType::Int16 => fill!(Int16, rng.i16(0..100)),
        DataType::Int32 => fill!(Int32, rng.i32(0..100)),
        DataType::Int64 => fill!(Int64, rng.i64(0..100)),
        DataType::Fp16 => fill!(Fp16, f16::from_f32(rng.f32())),
        DataType::Fp32 => fill!(Fp32, rng.f32()),
        DataType::Fp64 => fill!(Fp64, rng.f64()),
        DataType::Bytes => fill!(Bytes, (0..len).map(|_| rng.alphanumeric() as u8).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(name: &str, dt: DataType, shape: &[i64]) -> TensorMetadata {
        TensorMetadata {
            name: name.into(),
            datatype: dt,
            shape: shape.to_vec(),
        }
    }

    #[test]
    fn metadata_shapes_take_the_batch_size_and_overrides() {
        let md = [
            meta("a", DataType::Fp32, &[-1, 4]),
            meta("b", DataType::Bytes, &[-1, -1]),
        ];
        let spec = GenerateSpec {
            shapes: vec!["b:3,2".into()],
            datatypes: vec!["a:int64".into()],
            inputs: vec!["c:BOOL:5".into()],
            batch_size: 8,
            string_length: 4,
            seed: 7,
        };
        let inputs = resolve_inputs(&md, &spec).unwrap();
        let tensors = generate(&inputs, &spec).unwrap();
        assert_eq!(tensors[0].shape, [8, 4]);
        assert_eq!(tensors[0].datatype(), DataType::Int64);
        assert_eq!(tensors[1].shape, [3, 2]);
        let TensorData::Bytes(b) = &tensors[1].data else {
            panic!()
        };
        assert!(b.iter().all(|s| s.len() == 4));
        assert_eq!(
            (tensors[2].name.as_str(), tensors[2].datatype()),
            ("c", DataType::Bool)
        );
        assert_eq!(
            generate(&inputs, &spec).unwrap(),
            tensors,
            "same seed, same data"
        );
    }

    #[test]
    fn dynamic_dimensions_and_unknown_names_are_reported() {
        let md = [meta("x", DataType::Fp32, &[-1, -1])];
        let spec = GenerateSpec {
            batch_size: 1,
            ..Default::default()
        };
        let err = generate(&resolve_inputs(&md, &spec).unwrap(), &spec).unwrap_err();
        assert!(err.to_string().contains("--shape x:DIMS"), "{err}");
        let spec = GenerateSpec {
            shapes: vec!["y:1".into()],
            ..Default::default()
        };
        assert!(
            resolve_inputs(&md, &spec)
                .unwrap_err()
                .to_string()
                .contains("no input 'y'")
        );
        assert!(resolve_inputs(&[], &GenerateSpec::default()).is_err());
        assert!(parse_input_spec("FP32:1").is_err());
        assert_eq!(parse_input_spec("a:b:FP16:2x3").unwrap().name, "a:b");
    }
}
