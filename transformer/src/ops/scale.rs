//! `(x - mean) / std`, per channel along one axis.
use infergate_proto::{DataType, Tensor, TensorData};

use super::Numbers;
use super::cast::as_f64;

fn per_channel(tensor: &str, what: &str, n: &Numbers, channels: usize) -> Result<Vec<f64>, String> {
    match n {
        Numbers::One(x) => Ok(vec![*x; channels]),
        Numbers::Many(v) if v.len() == channels => Ok(v.clone()),
        Numbers::Many(v) => Err(format!(
            "tensor '{tensor}': {what} has {} values but the axis has {channels} channels",
            v.len()
        )),
    }
}

pub fn scale(t: &Tensor, mean: &Numbers, std: &Numbers, axis: i64) -> Result<TensorData, String> {
    let rank = t.shape.len() as i64;
    let axis = if axis < 0 { rank + axis } else { axis };
    if rank == 0 || !(0..rank).contains(&axis) {
        return Err(format!(
            "tensor '{}': axis out of range for shape {:?}",
            t.name, t.shape
        ));
    }
    let axis = axis as usize;
    let channels = t.shape[axis];
    if t.data.is_empty() {
        // Nothing to scale; and no per-channel table sized by a dimension
        // that the data does not back.
        return Ok(if t.datatype() == DataType::Fp64 {
            TensorData::Fp64(Vec::new())
        } else {
            TensorData::Fp32(Vec::new())
        });
    }
    let stride: usize = t.shape[axis + 1..].iter().product();
    let mean = per_channel(&t.name, "mean", mean, channels)?;
    let std = per_channel(&t.name, "std", std, channels)?;
    if std.contains(&0.0) {
        return Err(format!("tensor '{}': std must not be 0", t.name));
    }
    let values = as_f64(&t.name, &t.data)?;
    let out = values.iter().enumerate().map(|(i, &x)| {
        let c = (i / stride.max(1)) % channels.max(1);
        (x - mean[c]) / std[c]
    });
    Ok(if t.datatype() == DataType::Fp64 {
        TensorData::Fp64(out.collect())
    } else {
        TensorData::Fp32(out.map(|x| x as f32).collect())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_tensor_with_a_huge_axis_allocates_nothing() {
        // Built field by field: decoding would refuse this shape already.
        let t = Tensor {
            name: "x".into(),
            shape: vec![0, 1 << 61],
            parameters: Default::default(),
            data: TensorData::Fp32(vec![]),
        };
        let out = scale(&t, &Numbers::One(1.0), &Numbers::One(2.0), -1).unwrap();
        assert_eq!(out, TensorData::Fp32(vec![]));
    }

    #[test]
    fn scales_per_channel_on_any_axis() {
        // NCHW: 1 image, 2 channels, 1x2 pixels.
        let t = Tensor::new(
            "img",
            vec![1, 2, 1, 2],
            TensorData::Uint8(vec![10, 20, 30, 40]),
        )
        .unwrap();
        let out = scale(
            &t,
            &Numbers::Many(vec![10.0, 20.0]),
            &Numbers::Many(vec![10.0, 5.0]),
            1,
        )
        .unwrap();
        assert_eq!(out, TensorData::Fp32(vec![0.0, 1.0, 2.0, 4.0]));
        let t = Tensor::new("x", vec![2, 2], TensorData::Fp64(vec![1.0, 2.0, 3.0, 4.0])).unwrap();
        assert_eq!(
            scale(&t, &Numbers::One(1.0), &Numbers::One(2.0), -1).unwrap(),
            TensorData::Fp64(vec![0.0, 0.5, 1.0, 1.5])
        );
        assert!(
            scale(
                &t,
                &Numbers::Many(vec![1.0, 2.0, 3.0]),
                &Numbers::One(1.0),
                -1
            )
            .unwrap_err()
            .contains("3 values")
        );
        assert!(
            scale(&t, &Numbers::One(0.0), &Numbers::One(0.0), -1)
                .unwrap_err()
                .contains("std")
        );
    }
}
