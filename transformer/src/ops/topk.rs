//! The k largest values along the last dimension.
use infergate_proto::{DataType, Tensor, TensorData};

use super::cast::{as_f64, cast};

pub fn top_k(t: &Tensor, k: usize) -> Result<(Tensor, Tensor), String> {
    let Some(&width) = t.shape.last() else {
        return Err(format!(
            "tensor '{}': top_k needs at least one dimension",
            t.name
        ));
    };
    if k == 0 || k > width {
        return Err(format!(
            "tensor '{}': k = {k} is not within 1..={width}",
            t.name
        ));
    }
    let values = as_f64(&t.name, &t.data)?;
    let mut idx_out = Vec::with_capacity(values.len() / width.max(1) * k);
    let mut val_out = Vec::with_capacity(idx_out.capacity());
    for row in values.chunks(width) {
        let mut order: Vec<usize> = (0..width).collect();
        // Largest first; ties keep the lower index first.
        order.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
        for &i in &order[..k] {
            idx_out.push(i as i64);
            val_out.push(row[i]);
        }
    }
    let mut shape = t.shape.clone();
    *shape.last_mut().unwrap_or(&mut 0) = k;
    let dt = t.datatype();
    let values = cast(
        &t.name,
        &TensorData::Fp64(val_out),
        if dt == DataType::Bytes {
            DataType::Fp64
        } else {
            dt
        },
    )?;
    Ok((
        Tensor::new(
            format!("{}_top_k_indices", t.name),
            shape.clone(),
            TensorData::Int64(idx_out),
        )
        .map_err(|e| e.to_string())?,
        Tensor::new(format!("{}_top_k_values", t.name), shape, values)
            .map_err(|e| e.to_string())?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_largest_per_row() {
        let t = Tensor::new(
            "p",
            vec![2, 3],
            TensorData::Fp32(vec![0.1, 0.7, 0.2, 0.5, 0.25, 0.25]),
        )
        .unwrap();
        let (i, v) = top_k(&t, 2).unwrap();
        assert_eq!(
            (i.name.as_str(), i.shape.clone(), i.data),
            (
                "p_top_k_indices",
                vec![2, 2],
                TensorData::Int64(vec![1, 2, 0, 1])
            )
        );
        assert_eq!(v.data, TensorData::Fp32(vec![0.7, 0.2, 0.5, 0.25]));
        assert!(top_k(&t, 4).unwrap_err().contains("k = 4"));
    }
}
