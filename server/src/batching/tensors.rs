//! Joining requests' tensors into one batch along the first dimension, and
//! giving each caller exactly its own rows of the outputs, in order.
use std::future::Future;
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::sync::OnceLock;

use infergate_proto::{Tensor, TensorData};

use super::BatchError;
use super::queue::BatchKey;

type Result<T, E = BatchError> = std::result::Result<T, E>;

/// A fresh hasher for batch keys, keyed per process (SipHash), so that no
/// client can aim for collisions.
pub fn key_hasher() -> impl Hasher {
    static KEYS: OnceLock<RandomState> = OnceLock::new();
    KEYS.get_or_init(RandomState::new).build_hasher()
}

/// The batch key of a request and its number of rows. Every input needs a
/// first dimension, the same for all inputs.
pub fn batch_key(inputs: &[Tensor]) -> Result<(BatchKey, usize)> {
    let mut key = key_hasher();
    let mut rows = None;
    for t in inputs {
        let (&n, rest) = t.shape.split_first().ok_or_else(|| {
            BatchError::Input(format!(
                "input '{}' needs a batch dimension to be batched",
                t.name
            ))
        })?;
        match rows {
            None => rows = Some(n),
            Some(r) if r != n => {
                return Err(BatchError::Input(format!(
                    "inputs disagree on the batch dimension: '{}' has {n} rows, others {r}",
                    t.name
                )));
            }
            _ => {}
        }
        (&t.name, t.datatype(), rest).hash(&mut key);
    }
    Ok((BatchKey(key.finish()), rows.unwrap_or(0)))
}

/// Concatenates requests (same batch key, inputs in the same order) along
/// the first dimension. Each input's name and shape beyond the first
/// dimension are checked (the key is only a hash) and the datatype by
/// `extend_from`.
pub fn concat(mut requests: Vec<Vec<Tensor>>) -> Result<Vec<Tensor>> {
    if requests.len() == 1 {
        return Ok(requests.pop().unwrap_or_default());
    }
    let mut iter = requests.into_iter();
    let mut batch = iter.next().unwrap_or_default();
    let rest: Vec<Vec<Tensor>> = iter.collect();
    for (i, b) in batch.iter_mut().enumerate() {
        b.data.reserve(
            rest.iter()
                .filter_map(|r| r.get(i))
                .map(|t| t.data.len())
                .sum(),
        );
    }
    for request in rest {
        if request.len() != batch.len() {
            return Err(BatchError::Join(format!(
                "requests of one batch disagree: {} inputs vs {}",
                batch.len(),
                request.len()
            )));
        }
        for (b, t) in batch.iter_mut().zip(request) {
            if b.name != t.name || b.shape.get(1..) != t.shape.get(1..) {
                return Err(mismatch(b, &t));
            }
            b.data
                .extend_from(&t.data)
                .map_err(|e| BatchError::Join(e.to_string()))?;
            b.shape[0] += t.shape[0];
        }
    }
    Ok(batch)
}

fn mismatch(a: &Tensor, b: &Tensor) -> BatchError {
    BatchError::Join(format!(
        "requests of one batch disagree: input '{}' shape {:?} vs '{}' shape {:?}",
        a.name, a.shape, b.name, b.shape
    ))
}

/// Splits batch outputs back into one set per request, `rows[i]` rows each.
/// An output whose first dimension is not the batch's rows cannot be split:
/// every member gets that error.
pub fn split(outputs: Vec<Tensor>, rows: &[usize]) -> Result<Vec<Vec<Tensor>>> {
    let total: usize = rows.iter().sum();
    if rows.len() == 1 {
        return Ok(vec![outputs]);
    }
    let mut parts: Vec<Vec<Tensor>> = rows
        .iter()
        .map(|_| Vec::with_capacity(outputs.len()))
        .collect();
    for out in outputs {
        if out.shape.first() != Some(&total) {
            return Err(BatchError::Join(format!(
                "output '{}' has shape {:?}, not {total} rows for a batch of {total}; \
                 the model cannot be batched (turn batching off for it)",
                out.name, out.shape
            )));
        }
        let per_row: usize = out.shape[1..].iter().product();
        let mut start = 0;
        for (part, &n) in parts.iter_mut().zip(rows) {
            let mut shape = out.shape.clone();
            shape[0] = n;
            let data: TensorData = out.data.slice(start * per_row..(start + n) * per_row);
            start += n;
            part.push(Tensor {
                name: out.name.clone(),
                shape,
                parameters: out.parameters.clone(),
                data,
            });
        }
    }
    Ok(parts)
}

/// Runs a batch of tensor requests as one: joins the members' inputs,
/// runs them with `run`, and splits the outputs back by `rows`; a failure
/// answers every member with the error.
pub async fn run_joined<E, F, Fut>(
    members: Vec<Vec<Tensor>>,
    rows: &[usize],
    run: F,
) -> Vec<Result<Vec<Tensor>, E>>
where
    E: From<BatchError> + Clone,
    F: FnOnce(Vec<Tensor>) -> Fut,
    Fut: Future<Output = Result<Vec<Tensor>, E>>,
{
    let result = match concat(members) {
        Ok(joined) => match run(joined).await {
            Ok(outputs) => split(outputs, rows).map_err(E::from),
            Err(e) => Err(e),
        },
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(parts) => parts.into_iter().map(Ok).collect(),
        Err(e) => rows.iter().map(|_| Err(e.clone())).collect(),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn request(rows: usize, width: usize, base: i32) -> Vec<Tensor> {
        let data = (0..(rows * width) as i32).map(|v| base + v).collect();
        vec![
            Tensor::new("a", vec![rows, width], TensorData::Int32(data)).unwrap(),
            Tensor::new(
                "b",
                vec![rows],
                TensorData::Bytes(
                    (0..rows)
                        .map(|r| format!("{base}-{r}").into_bytes())
                        .collect(),
                ),
            )
            .unwrap(),
        ]
    }

    #[test]
    fn keys_and_row_counts() {
        let (k1, rows) = batch_key(&request(3, 2, 0)).unwrap();
        assert_eq!(rows, 3);
        let (k2, _) = batch_key(&request(1, 2, 0)).unwrap();
        assert_eq!(k1, k2, "rows do not enter the key");
        let (k3, _) = batch_key(&request(1, 3, 0)).unwrap();
        assert_ne!(k1, k3);
        let mut bad = request(2, 2, 0);
        bad[1] = Tensor::new("b", vec![3], TensorData::Bytes(vec![vec![]; 3])).unwrap();
        assert!(
            batch_key(&bad)
                .unwrap_err()
                .to_string()
                .contains("disagree")
        );
        let scalar = vec![Tensor::new("s", vec![], TensorData::Int32(vec![1])).unwrap()];
        assert!(
            batch_key(&scalar)
                .unwrap_err()
                .to_string()
                .contains("batch dimension")
        );
    }

    #[test]
    fn keys_are_hashes_so_concat_checks_the_real_shapes() {
        // Were two different keys ever to collide, the batch fails instead
        // of joining mismatched rows into a wrong tensor.
        let err = concat(vec![request(1, 2, 0), request(1, 3, 0)]).unwrap_err();
        assert!(err.to_string().contains("disagree"), "{err}");
        let mut renamed = request(1, 2, 0);
        renamed[0].name = "other".into();
        assert!(concat(vec![request(1, 2, 0), renamed]).is_err());
        assert!(concat(vec![request(1, 2, 0), request(1, 2, 0)[..1].to_vec()]).is_err());
    }

    #[test]
    fn outputs_without_the_batch_rows_fail_every_member() {
        let out = vec![Tensor::new("y", vec![1], TensorData::Int32(vec![0])).unwrap()];
        let err = split(out, &[1, 2]).unwrap_err().to_string();
        assert!(err.contains("cannot be batched"), "{err}");
    }

    proptest! {
        /// Split-back: whatever the request sizes, each caller gets exactly
        /// the rows it sent (here the "model" is the identity), in order.
        #[test]
        fn every_caller_gets_its_own_rows(sizes in proptest::collection::vec(1usize..5, 1..8), width in 1usize..4) {
            let requests: Vec<Vec<Tensor>> = sizes.iter().enumerate().map(|(i, &n)| request(n, width, 1000 * i as i32)).collect();
            let batch = concat(requests.clone()).unwrap();
            prop_assert_eq!(batch[0].shape.clone(), vec![sizes.iter().sum::<usize>(), width]);
            let parts = split(batch, &sizes).unwrap();
            prop_assert_eq!(parts, requests);
        }
    }
}
