//! Storage URIs against real servers on loopback: an S3-compatible server
//! (moto, from PyPI) and a plain HTTP file server; archives; keys that try
//! to escape the model directory.
use std::process::Command;

use infergate_tests::{Http, PyFixture, Server, bin, example_models, run_to_exit, scratch_dir};

async fn seed_answer(s: &Server, model: &str) -> String {
    Http::default().predict_seed(s, model).await.text()
}

fn s3_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_DEFAULT_REGION", "us-east-1".into()),
        ("S3_ENDPOINT", endpoint.to_string()),
    ]
}

#[tokio::test]
async fn s3_storage_uri_downloads_a_repository() {
    let src = example_models();
    let Some(s3) = PyFixture::start(
        "storage_fixture.py",
        &["s3", src.to_str().unwrap(), "models", "prod/v1"],
    ) else {
        return;
    };
    let dest = scratch_dir("storage-s3");
    let env = s3_env(&s3.address);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let s = Server::start(
        &bin("infergate"),
        &[
            "--storage_uri",
            "s3://models/prod/v1",
            "--model_dir",
            dest.to_str().unwrap(),
        ],
        &env,
    );
    assert_eq!(
        seed_answer(&s, "sklearn-iris").await,
        r#"{"predictions":[1,1]}"#
    );
    assert!(dest.join("intent/model.onnx").is_file());

    // STORAGE_URI in the environment works too, as KServe sets it.
    let dest2 = scratch_dir("storage-s3-env");
    let mut env2 = env.clone();
    env2.push(("STORAGE_URI", "s3://models/prod/v1/sklearn-iris"));
    let s = Server::start(
        &bin("infergate-predictor"),
        &[
            "--model_dir",
            dest2.to_str().unwrap(),
            "--model_name",
            "iris",
        ],
        &env2,
    );
    assert_eq!(seed_answer(&s, "iris").await, r#"{"predictions":[1,1]}"#);
}

#[test]
fn s3_keys_that_escape_the_model_directory_are_refused() {
    let src = scratch_dir("storage-evil-src");
    std::fs::create_dir_all(src.join("m")).unwrap();
    std::fs::copy(
        example_models().join("sklearn-iris/model.onnx"),
        src.join("m/model.onnx"),
    )
    .unwrap();
    let Some(s3) = PyFixture::start(
        "storage_fixture.py",
        &[
            "s3",
            src.to_str().unwrap(),
            "models",
            "p",
            "p/../../escaped.txt",
        ],
    ) else {
        return;
    };
    let dest = scratch_dir("storage-evil").join("inside");
    let env = s3_env(&s3.address);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (ok, err) = run_to_exit(
        &bin("infergate"),
        &[
            "--storage_uri",
            "s3://models/p",
            "--model_dir",
            dest.to_str().unwrap(),
        ],
        &env,
    );
    assert!(!ok, "must not start");
    // object_store refuses such keys while listing; our own check stands
    // behind it for any key it would let through.
    assert!(
        err.contains("p/../../escaped.txt") && err.contains("\"..\""),
        "{err}"
    );
    assert!(!dest.parent().unwrap().join("escaped.txt").exists());
    assert!(
        !dest
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .join("escaped.txt")
            .exists()
    );
}

#[tokio::test]
async fn http_storage_uri_fetches_a_file_or_an_archive() {
    let served = scratch_dir("storage-http-src");
    std::fs::copy(
        example_models().join("sklearn-iris/model.onnx"),
        served.join("iris.onnx"),
    )
    .unwrap();
    // An archive of the whole example repository.
    let tar = Command::new("tar")
        .args([
            "-czf",
            served.join("models.tar.gz").to_str().unwrap(),
            "-C",
            example_models().to_str().unwrap(),
            "sklearn-iris",
            "intent",
        ])
        .status()
        .unwrap();
    assert!(tar.success());
    let Some(web) = PyFixture::start("storage_fixture.py", &["http", served.to_str().unwrap()])
    else {
        return;
    };

    let dest = scratch_dir("storage-http-file");
    let uri = format!("{}/iris.onnx", web.address);
    let s = Server::start(
        &bin("infergate-predictor"),
        &[
            "--storage_uri",
            &uri,
            "--model_dir",
            dest.to_str().unwrap(),
            "--model_name",
            "iris",
        ],
        &[],
    );
    assert_eq!(seed_answer(&s, "iris").await, r#"{"predictions":[1,1]}"#);
    assert!(
        !dest.join(".iris.onnx.partial").exists(),
        "no temporary file is left behind"
    );

    let dest = scratch_dir("storage-http-archive");
    let uri = format!("{}/models.tar.gz", web.address);
    let s = Server::start(
        &bin("infergate"),
        &["--storage_uri", &uri, "--model_dir", dest.to_str().unwrap()],
        &[],
    );
    assert_eq!(
        seed_answer(&s, "sklearn-iris").await,
        r#"{"predictions":[1,1]}"#
    );
    let intent = Http::default()
        .post_json(
            &s.url("/v1/models/intent:predict"),
            &serde_json::json!({"instances": ["play some jazz"]}),
        )
        .await;
    assert_eq!(intent.text(), r#"{"predictions":["play_music"]}"#);

    let (ok, err) = run_to_exit(
        &bin("infergate"),
        &[
            "--storage_uri",
            &format!("{}/missing.onnx", web.address),
            "--model_dir",
            dest.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!ok && err.contains("missing.onnx"), "{err}");
}

#[tokio::test]
async fn local_and_file_uris_are_served_in_place() {
    let uri = format!("file://{}", example_models().display());
    let s = Server::infergate(&["--storage_uri", &uri]);
    assert_eq!(
        seed_answer(&s, "sklearn-iris").await,
        r#"{"predictions":[1,1]}"#
    );
    let (ok, err) = run_to_exit(
        &bin("infergate"),
        &["--storage_uri", "gs://bucket/model"],
        &[],
    );
    assert!(!ok && err.contains("scheme 'gs' is not supported"), "{err}");
}

#[tokio::test]
async fn an_s3_uri_naming_one_object_fetches_that_object() {
    let src = scratch_dir("storage-s3-one-src");
    std::fs::copy(
        example_models().join("sklearn-iris/model.onnx"),
        src.join("model.onnx"),
    )
    .unwrap();
    std::fs::write(src.join("notes.txt"), "beside the model, not asked for").unwrap();
    let Some(s3) = PyFixture::start(
        "storage_fixture.py",
        &["s3", src.to_str().unwrap(), "models", "iris/v2"],
    ) else {
        return;
    };
    let env = s3_env(&s3.address);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let dest = scratch_dir("storage-s3-one");
    let s = Server::start(
        &bin("infergate-predictor"),
        &[
            "--storage_uri",
            "s3://models/iris/v2/model.onnx",
            "--model_dir",
            dest.to_str().unwrap(),
            "--model_name",
            "iris",
        ],
        &env,
    );
    assert_eq!(seed_answer(&s, "iris").await, r#"{"predictions":[1,1]}"#);
    assert!(dest.join("model.onnx").is_file());
    assert!(!dest.join("notes.txt").exists(), "only the named object");

    let (ok, err) = run_to_exit(
        &bin("infergate-predictor"),
        &[
            "--storage_uri",
            "s3://models/iris/v2/nothing.onnx",
            "--model_dir",
            scratch_dir("storage-s3-none").to_str().unwrap(),
        ],
        &env,
    );
    assert!(
        !ok && err.contains("s3://models/iris/v2/nothing.onnx")
            && err.contains("no object with this key and no objects under this prefix"),
        "{err}"
    );
}

/// A directory served over HTTP holding `bomb.tar.gz` (64 MiB of zeros in a
/// few tens of KiB), `models.tar` (the iris model, not compressed) and
/// `m.tar.bz2` (a form that is not unpacked).
fn archives_to_serve(tag: &str) -> std::path::PathBuf {
    let served = scratch_dir(tag);
    let zeros = served.join("zeros");
    std::fs::create_dir_all(&zeros).unwrap();
    let f = std::fs::File::create(zeros.join("model.onnx")).unwrap();
    f.set_len(64 << 20).unwrap();
    let tar = |args: &[&str]| assert!(Command::new("tar").args(args).status().unwrap().success());
    let out = |name: &str| served.join(name).to_str().unwrap().to_string();
    tar(&[
        "-czf",
        &out("bomb.tar.gz"),
        "-C",
        zeros.to_str().unwrap(),
        "model.onnx",
    ]);
    std::fs::remove_dir_all(&zeros).unwrap();
    let models = example_models();
    tar(&[
        "-cf",
        &out("models.tar"),
        "-C",
        models.to_str().unwrap(),
        "sklearn-iris",
    ]);
    std::fs::write(served.join("m.tar.bz2"), b"BZh9").unwrap();
    served
}

#[test]
fn fetches_past_the_storage_limits_stop_with_the_limit_named() {
    let served = archives_to_serve("storage-limits-src");
    let Some(web) = PyFixture::start("storage_fixture.py", &["http", served.to_str().unwrap()])
    else {
        return;
    };
    let fetch = |file: &str, extra: &[&str]| {
        let dest = scratch_dir("storage-limits");
        let uri = format!("{}/{file}", web.address);
        let mut args = vec!["--storage_uri", &uri, "--model_dir", dest.to_str().unwrap()];
        args.extend_from_slice(extra);
        let started = std::time::Instant::now();
        let (ok, err) = run_to_exit(&bin("infergate-predictor"), &args, &[]);
        assert!(!ok, "{file} must not be served");
        let written: u64 = std::fs::read_dir(&dest)
            .unwrap()
            .flatten()
            .map(|e| dir_size(&e.path()))
            .sum();
        (err, written, started.elapsed())
    };

    // 40 GiB declared, over the 32 GiB default: refused before any byte is kept.
    let (err, written, took) = fetch("huge.onnx", &[]);
    assert!(
        err.contains("huge.onnx") && err.contains("--storage_max_bytes"),
        "{err}"
    );
    assert_eq!(written, 0);
    assert!(took < std::time::Duration::from_secs(20), "took {took:?}");

    // The bomb stops at 100x its size by default.
    let bomb = std::fs::metadata(served.join("bomb.tar.gz")).unwrap().len();
    let (err, written, _) = fetch("bomb.tar.gz", &[]);
    assert!(err.contains("--storage_max_expansion_ratio"), "{err}");
    assert!(written <= 100 * bomb, "{written} bytes written");

    // ... and at the byte cap when that comes first.
    let (err, written, _) = fetch(
        "bomb.tar.gz",
        &[
            "--storage_max_bytes",
            "1MiB",
            "--storage_max_expansion_ratio",
            "100000",
        ],
    );
    assert!(err.contains("--storage_max_bytes"), "{err}");
    assert!(written <= 1 << 20, "{written} bytes written");

    let (err, _, _) = fetch("m.tar.bz2", &[]);
    assert!(
        err.contains("'.tar.bz2' archives are not supported"),
        "{err}"
    );
}

fn dir_size(path: &std::path::Path) -> u64 {
    if path.is_dir() {
        std::fs::read_dir(path)
            .unwrap()
            .flatten()
            .map(|e| dir_size(&e.path()))
            .sum()
    } else {
        std::fs::metadata(path).map_or(0, |m| m.len())
    }
}

#[tokio::test]
async fn a_plain_tar_is_unpacked_like_the_compressed_forms() {
    let served = archives_to_serve("storage-plain-tar-src");
    let Some(web) = PyFixture::start("storage_fixture.py", &["http", served.to_str().unwrap()])
    else {
        return;
    };
    let dest = scratch_dir("storage-plain-tar");
    let uri = format!("{}/models.tar", web.address);
    let s = Server::start(
        &bin("infergate"),
        &["--storage_uri", &uri, "--model_dir", dest.to_str().unwrap()],
        &[],
    );
    assert_eq!(
        seed_answer(&s, "sklearn-iris").await,
        r#"{"predictions":[1,1]}"#
    );
    assert!(!dest.join("models.tar").exists() && !dest.join(".models.tar.partial").exists());
}
