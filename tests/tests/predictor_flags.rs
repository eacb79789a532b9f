//! The predictor's flags as a user sets them: KServe's and ONNX Runtime's
//! environment variables beside infergate's own (command line >
//! environment > config file), config-file mistakes named by file and key,
//! and built-in models served beside a model directory.
use http::Method;
use infergate_tests::{Http, Server, bin, copy_dir, example_models, run_to_exit, scratch_dir};
use serde_json::json;

fn models() -> String {
    example_models().to_str().unwrap().to_string()
}

async fn serves_iris(s: &Server) -> bool {
    Http::default().predict_seed(s, "sklearn-iris").await.text() == r#"{"predictions":[1,1]}"#
}

async fn post(h: &Http, s: &Server, path: &str) -> infergate_tests::Reply {
    h.send(Method::POST, &s.url(path), &[], "").await
}

fn config_file(tag: &str, text: &str) -> String {
    let path = scratch_dir(tag).join("infergate.toml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[tokio::test]
async fn storage_uri_comes_from_either_variable_and_infergate_s_wins() {
    let predictor = bin("infergate-predictor");
    let m = models();
    let s = Server::start(&predictor, &[], &[("INFERGATE_STORAGE_URI", &m)]);
    assert!(serves_iris(&s).await);

    let s = Server::start(
        &predictor,
        &[],
        &[
            ("INFERGATE_STORAGE_URI", &m),
            ("STORAGE_URI", "/nonexistent"),
        ],
    );
    assert!(serves_iris(&s).await);
    assert!(
        s.logs().contains(
            "both INFERGATE_STORAGE_URI and STORAGE_URI are set; using INFERGATE_STORAGE_URI"
        ),
        "{}",
        s.logs()
    );

    // KServe's variable outranks the config file, as any environment does...
    let file = config_file("flags-storage-file", "storage_uri = \"/nonexistent\"\n");
    let s = Server::start(
        &predictor,
        &["--config_file", &file],
        &[("STORAGE_URI", &m)],
    );
    assert!(serves_iris(&s).await);
    // ... and the command line outranks both.
    let s = Server::start(
        &predictor,
        &["--storage_uri", &m, "--config_file", &file],
        &[
            ("STORAGE_URI", "/nonexistent"),
            ("INFERGATE_STORAGE_URI", "/nonexistent"),
        ],
    );
    assert!(serves_iris(&s).await);
}

#[test]
fn ort_library_comes_from_either_variable_and_infergate_s_wins() {
    let m = models();
    let (ok, err) = run_to_exit(
        &bin("infergate-predictor"),
        &["--model_dir", &m],
        &[("INFERGATE_ORT_LIBRARY", "/nonexistent/a/libonnxruntime.so")],
    );
    assert!(
        !ok && err
            .contains("cannot load the ONNX Runtime library /nonexistent/a/libonnxruntime.so"),
        "{err}"
    );
    let (ok, err) = run_to_exit(
        &bin("infergate"),
        &["--model_dir", &m],
        &[
            ("INFERGATE_ORT_LIBRARY", "/nonexistent/a/libonnxruntime.so"),
            ("ORT_DYLIB_PATH", "/nonexistent/b/libonnxruntime.so"),
        ],
    );
    assert!(
        !ok && err.contains("/nonexistent/a/libonnxruntime.so"),
        "{err}"
    );
}

#[test]
fn a_bad_config_file_value_names_the_file_and_the_key() {
    for (text, key, says) in [
        // (Not a port: the harness sets those on the command line, which wins.)
        (
            "max_request_bytes = \"eighty\"\n",
            "max_request_bytes",
            "invalid value 'eighty'",
        ),
        ("device = \"tpu\"\n", "device", "invalid value 'tpu'"),
        (
            "storage_max_bytes = \"lots\"\n",
            "storage_max_bytes",
            "not a byte size",
        ),
    ] {
        let file = config_file("flags-bad-file", text);
        let (ok, err) = run_to_exit(
            &bin("infergate-predictor"),
            &["--model_dir", &models(), "--config_file", &file],
            &[],
        );
        assert!(!ok, "{text}");
        assert!(
            err.contains(&format!("config file {file}: key '{key}'")) && err.contains(says),
            "{text}: {err}"
        );
        assert!(
            !err.contains(&format!("--{key}")),
            "the flag is not the culprit: {err}"
        );
    }
}

#[tokio::test]
async fn built_in_models_load_again_after_unload_beside_a_model_directory() {
    let repo = scratch_dir("flags-builtin-repo");
    copy_dir(
        &example_models().join("sklearn-iris"),
        &repo.join("sklearn-iris"),
    );
    let s = Server::infergate(&[
        "--model_dir",
        repo.to_str().unwrap(),
        "--builtin_models",
        "echo",
    ]);
    let h = Http::default();
    let echo = json!({"inputs": [{"name": "x", "shape": [1], "datatype": "INT32", "data": [7]}]});
    assert_eq!(
        post(&h, &s, "/v2/repository/models/echo/unload")
            .await
            .status,
        200
    );
    assert_eq!(
        h.post_json(&s.url("/v2/models/echo/infer"), &echo)
            .await
            .status,
        404
    );
    let r = post(&h, &s, "/v2/repository/models/echo/load").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = h.post_json(&s.url("/v2/models/echo/infer"), &echo).await;
    assert_eq!(r.json()["outputs"][0]["data"], json!([7]));
    // The model directory's models load and unload as before.
    assert_eq!(
        post(&h, &s, "/v2/repository/models/sklearn-iris/unload")
            .await
            .status,
        200
    );
    assert_eq!(
        post(&h, &s, "/v2/repository/models/sklearn-iris/load")
            .await
            .status,
        200
    );
    assert!(serves_iris(&s).await);
}
