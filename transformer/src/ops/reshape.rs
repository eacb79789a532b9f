//! Reshaping with one inferred (-1) dimension.
use infergate_proto::tensor::{check_count, element_count};

pub fn reshape(tensor: &str, current: &[usize], want: &[i64]) -> Result<Vec<usize>, String> {
    let total =
        element_count(current).ok_or_else(|| format!("tensor '{tensor}': shape too large"))?;
    let inferred = want.iter().filter(|&&d| d == -1).count();
    if inferred > 1 || want.iter().any(|&d| d < -1) {
        return Err(format!(
            "tensor '{tensor}': shape {want:?} may hold one -1 and no other negative dimension"
        ));
    }
    let known: usize = want
        .iter()
        .filter(|&&d| d >= 0)
        .map(|&d| d as usize)
        .product();
    let fill = if inferred == 1 {
        if known == 0 || total % known != 0 {
            return Err(format!(
                "tensor '{tensor}': {total} elements do not fit shape {want:?}"
            ));
        }
        total / known
    } else {
        0
    };
    let shape: Vec<usize> = want
        .iter()
        .map(|&d| if d == -1 { fill } else { d as usize })
        .collect();
    if element_count(&shape) != Some(total) {
        return Err(format!(
            "tensor '{tensor}': {total} elements do not fit shape {want:?}"
        ));
    }
    // An empty tensor fits any shape with a 0 in it: bound it as decoding does.
    check_count(tensor, &shape, total).map_err(|e| e.to_string())?;
    Ok(shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reshapes_keep_the_element_count() {
        assert_eq!(reshape("t", &[8], &[-1, 4]).unwrap(), vec![2, 4]);
        assert_eq!(reshape("t", &[2, 3], &[6]).unwrap(), vec![6]);
        assert!(
            reshape("t", &[6], &[4, -1])
                .unwrap_err()
                .contains("do not fit")
        );
        assert!(reshape("t", &[6], &[-1, -1]).is_err());
        assert!(reshape("t", &[6], &[5]).is_err());
    }

    #[test]
    fn an_empty_tensor_cannot_be_given_huge_dimensions() {
        assert_eq!(reshape("t", &[0, 4], &[4, 0]).unwrap(), vec![4, 0]);
        let err = reshape("t", &[0, 4], &[1 << 40, 0]).unwrap_err();
        assert!(err.contains("holds no elements"), "{err}");
    }
}
