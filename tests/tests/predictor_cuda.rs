//! `--device`: CUDA when asked, a clear failure when it cannot be had, CPU
//! fallback with `auto`. The GPU test runs where an NVIDIA GPU and the
//! onnxruntime-gpu library are present (scripts/gpu-check.sh sets that up on
//! a lent GPU machine) and says why it skips elsewhere.
use infergate_tests::{Http, Server, bin, example_models, run_to_exit};

/// The onnxruntime-gpu library to test with, or why there is none.
fn gpu_library() -> Result<String, String> {
    let smi = std::process::Command::new("nvidia-smi").arg("-L").output();
    match smi {
        Ok(o) if o.status.success() && !o.stdout.is_empty() => {}
        _ => return Err("no NVIDIA GPU here (nvidia-smi -L found none)".into()),
    }
    std::env::var("INFERGATE_ORT_GPU_LIBRARY").map_err(|_| {
        "INFERGATE_ORT_GPU_LIBRARY is not set (scripts/gpu-check.sh sets it)".to_string()
    })
}

fn has_gpu() -> bool {
    gpu_library().is_ok()
}

#[test]
fn cuda_without_a_usable_gpu_fails_clearly() {
    if has_gpu() {
        eprintln!("skipped: a GPU is present, so CUDA is usable here");
        return;
    }
    let models = example_models();
    let (ok, err) = run_to_exit(
        &bin("infergate"),
        &["--model_dir", models.to_str().unwrap(), "--device", "cuda"],
        &[],
    );
    assert!(!ok, "--device cuda must not fall back silently");
    assert!(
        err.contains("CUDA device 0 is not usable") && err.contains("--device cpu"),
        "{err}"
    );
    let (ok, err) = run_to_exit(
        &bin("infergate"),
        &["--model_dir", models.to_str().unwrap(), "--device", "gpu"],
        &[],
    );
    assert!(!ok && err.contains("unknown device 'gpu'"), "{err}");
}

#[tokio::test]
async fn auto_falls_back_to_cpu_and_says_so() {
    if has_gpu() {
        eprintln!("skipped: a GPU is present, so auto picks CUDA");
        return;
    }
    let s = Server::infergate(&[
        "--model_dir",
        example_models().to_str().unwrap(),
        "--device",
        "auto",
    ]);
    let r = Http::default().predict_seed(&s, "sklearn-iris").await;
    assert_eq!(r.text(), r#"{"predictions":[1,1]}"#);
    let logs = s.logs();
    assert!(
        logs.contains("--device auto: CUDA is not available, using the CPU"),
        "{logs}"
    );
    // auto asked for this fallback: it is news, not a warning.
    assert!(!logs.contains("WARN"), "{logs}");
}

#[tokio::test]
async fn cuda_serves_the_same_answers_as_cpu() {
    let lib = match gpu_library() {
        Ok(lib) => lib,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let models = example_models();
    let gpu = Server::start(
        &bin("infergate"),
        &["--model_dir", models.to_str().unwrap(), "--device", "cuda"],
        &[("ORT_DYLIB_PATH", &lib)],
    );
    let cpu = Server::infergate(&["--model_dir", models.to_str().unwrap()]);
    let h = Http::default();
    assert_eq!(
        h.predict_seed(&gpu, "sklearn-iris").await.text(),
        r#"{"predictions":[1,1]}"#
    );
    let body = serde_json::json!({"inputs": [{"name": "input", "shape": [4, 256], "datatype": "FP32",
        "data": (0..1024).map(|i| (i % 13) as f32 / 13.0).collect::<Vec<_>>()}]});
    let a = h
        .post_json(&gpu.url("/v2/models/mlp/infer"), &body)
        .await
        .json()["outputs"][0]["data"]
        .clone();
    let b = h
        .post_json(&cpu.url("/v2/models/mlp/infer"), &body)
        .await
        .json()["outputs"][0]["data"]
        .clone();
    for (x, y) in a.as_array().unwrap().iter().zip(b.as_array().unwrap()) {
        let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
        assert!(
            (x - y).abs() <= 1e-3 * (1.0 + y.abs()),
            "GPU {x} vs CPU {y}"
        );
    }
    assert!(
        gpu.logs().contains("Cuda"),
        "the model reports the CUDA device:\n{}",
        gpu.logs()
    );
}
