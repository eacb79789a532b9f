//! The run-cutting rule with explicit lengths, and a run's inputs and
//! outputs laid out by hand.
use super::*;

#[test]
fn equal_lengths_fill_runs_up_to_the_limits() {
    // 10 texts of 8 tokens: one run, as long as rows and tokens allow;
    // ties go to full runs first (the shortest texts).
    assert_eq!(plan_runs(&[8; 10], 64, 8192, 100), [10]);
    assert_eq!(
        plan_runs(&[8; 10], 4, 8192, 100),
        [4, 4, 2],
        "4 rows a run at most"
    );
    assert_eq!(
        plan_runs(&[8; 10], 64, 40, 100),
        [5, 5],
        "5 x 8 = 40 tokens a run"
    );
    assert!(plan_runs(&[], 64, 8192, 100).is_empty());
}

#[test]
fn mixed_lengths_are_cut_where_padding_costs_more_than_a_run() {
    // Four short and four long: one run pads the short ones to 120
    // (8 x 120 = 960 + 100); two runs cost 4 x 10 + 4 x 120 + 200 = 720.
    let lens = [10, 10, 10, 10, 120, 120, 120, 120];
    assert_eq!(plan_runs(&lens, 64, 8192, 100), [4, 4]);
    // With a run as dear as 500 tokens, padding is cheaper: 960 + 500 < 520 + 1000.
    assert_eq!(plan_runs(&lens, 64, 8192, 500), [8]);
    // Lengths close together stay together.
    assert_eq!(plan_runs(&[30, 31, 32, 33], 64, 8192, 10), [4]);
}

#[test]
fn a_text_over_the_token_limit_runs_alone() {
    assert_eq!(plan_runs(&[5, 5, 300], 64, 100, 10), [2, 1]);
}

fn ids(name: &str, rows: usize, len: usize, base: i64) -> Tensor {
    let data = (0..(rows * len) as i64).map(|v| base + v).collect();
    Tensor::new(name, vec![rows, len], TensorData::Int64(data)).unwrap()
}

fn mask(rows: &[usize], len: usize) -> Tensor {
    let data = rows
        .iter()
        .flat_map(|&n| (0..len).map(move |i| i64::from(i < n)))
        .collect();
    Tensor::new(
        "attention_mask",
        vec![rows.len(), len],
        TensorData::Int64(data),
    )
    .unwrap()
}

#[test]
fn real_lengths_come_from_the_attention_mask() {
    let req = vec![ids("input_ids", 3, 4, 0), mask(&[4, 2, 0], 4)];
    let shape = token_rows(&req).unwrap();
    assert_eq!(row_lengths(&req, shape).unwrap(), [4, 2, 0]);
    let no_mask = vec![ids("input_ids", 2, 3, 0)];
    assert_eq!(
        row_lengths(&no_mask, token_rows(&no_mask).unwrap()).unwrap(),
        [3, 3]
    );
}

#[test]
fn a_run_pads_its_texts_to_its_longest_and_hands_each_its_rows_back() {
    // Request 0: rows of 3 and 1 real tokens (padded to 3); request 1: 2 of 2.
    let a = vec![ids("input_ids", 2, 3, 10), mask(&[3, 1], 3)];
    let b = vec![ids("input_ids", 1, 2, 20), mask(&[2], 2)];
    let texts = [
        Text {
            job: 0,
            row: 1,
            len: 1,
        },
        Text {
            job: 1,
            row: 0,
            len: 2,
        },
    ];
    let run = run_inputs(&[&a, &b], &texts).unwrap();
    assert_eq!(run[0].shape, [2, 2]);
    assert_eq!(run[0].data, TensorData::Int64(vec![13, 0, 20, 21]));
    assert_eq!(run[1].data, TensorData::Int64(vec![1, 0, 1, 1]));
    // The encoder's per-token output, width 2: token t of text k is
    // (v, -v) with v = 10 k + t + 1.
    let out = Tensor::new(
        "last_hidden_state",
        vec![2, 2, 2],
        TensorData::Fp32(vec![1.0, -1.0, 2.0, -2.0, 11.0, -11.0, 12.0, -12.0]),
    )
    .unwrap();
    let shapes = [TokenRows { rows: 2, len: 3 }, TokenRows { rows: 1, len: 2 }];
    let mut buffers = vec![Vec::new(), Vec::new()];
    assert_eq!(scatter(&out, &texts, &shapes, &mut buffers).unwrap(), 2);
    // Request 0's row 1 gets its one real token, the padding after it stays
    // zero, and its row 0 waits for another run; request 1 gets both tokens.
    let mut want = vec![0.0; 12];
    want[6..8].copy_from_slice(&[1.0, -1.0]);
    assert_eq!(buffers[0], want);
    assert_eq!(buffers[1], [11.0, -11.0, 12.0, -12.0]);
    let wrong = Tensor::new(
        "last_hidden_state",
        vec![2, 3, 2],
        TensorData::Fp32(vec![0.0; 12]),
    )
    .unwrap();
    let err = scatter(&wrong, &texts, &shapes, &mut buffers)
        .unwrap_err()
        .to_string();
    assert!(err.contains("a run of 2 texts x 2 tokens"), "{err}");
}

#[test]
fn mismatched_inputs_are_named() {
    let a = vec![ids("input_ids", 1, 2, 0), ids("attention_mask", 1, 3, 0)];
    let err = token_rows(&a).unwrap_err().to_string();
    assert!(err.contains("token inputs disagree"), "{err}");
}
