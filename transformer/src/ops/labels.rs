//! Class indices to class names.
use infergate_proto::TensorData;

use super::cast::cast;

pub fn labels(tensor: &str, data: &TensorData, names: &[String]) -> Result<TensorData, String> {
    let TensorData::Int64(indices) = cast(tensor, data, infergate_proto::DataType::Int64)? else {
        unreachable!("cast to INT64 gives INT64")
    };
    indices
        .iter()
        .map(|&i| {
            usize::try_from(i)
                .ok()
                .and_then(|i| names.get(i))
                .map(|n| n.clone().into_bytes())
                .ok_or_else(|| {
                    format!(
                        "tensor '{tensor}': class index {i} has no label ({} labels)",
                        names.len()
                    )
                })
        })
        .collect::<Result<_, _>>()
        .map(TensorData::Bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_become_names() {
        let names: Vec<String> = ["setosa", "versicolor", "virginica"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            labels("label", &TensorData::Int64(vec![1, 2]), &names).unwrap(),
            TensorData::Bytes(vec![b"versicolor".to_vec(), b"virginica".to_vec()])
        );
        let err = labels("label", &TensorData::Int32(vec![3]), &names).unwrap_err();
        assert_eq!(err, "tensor 'label': class index 3 has no label (3 labels)");
    }
}
