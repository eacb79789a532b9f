//! The model repository: load / unload over REST and gRPC, version folders,
//! config files, the single-model layout, and bad models (the server stays up
//! and says what is wrong).
use http::Method;
use infergate_tests::{Http, Server, bin, copy_dir, example_models, run_to_exit, scratch_dir};
use serde_json::json;

async fn predict(h: &Http, s: &Server, model: &str) -> (u16, String) {
    let r = h.predict_seed(s, model).await;
    (r.status.as_u16(), r.text())
}

async fn post(h: &Http, s: &Server, path: &str) -> infergate_tests::Reply {
    h.send(Method::POST, &s.url(path), &[], "").await
}

#[tokio::test]
async fn load_and_unload_over_rest_and_new_models_appear() {
    let repo = scratch_dir("repo-load");
    copy_dir(
        &example_models().join("sklearn-iris"),
        &repo.join("sklearn-iris"),
    );
    let s = Server::infergate(&["--model_dir", repo.to_str().unwrap()]);
    let h = Http::default();
    assert_eq!(predict(&h, &s, "sklearn-iris").await.0, 200);

    assert_eq!(
        post(&h, &s, "/v2/repository/models/sklearn-iris/unload")
            .await
            .json(),
        json!({"name": "sklearn-iris", "unload": true})
    );
    assert_eq!(predict(&h, &s, "sklearn-iris").await.0, 404);
    assert_eq!(
        h.get(&s.url("/v1/models")).await.json(),
        json!({"models": []})
    );

    assert_eq!(
        post(&h, &s, "/v2/repository/models/sklearn-iris/load")
            .await
            .json(),
        json!({"name": "sklearn-iris", "load": true})
    );
    assert_eq!(
        predict(&h, &s, "sklearn-iris").await,
        (200, r#"{"predictions":[1,1]}"#.into())
    );

    // A model copied in while serving is loaded on request.
    copy_dir(
        &example_models().join("sklearn-iris"),
        &repo.join("iris-copy"),
    );
    assert_eq!(predict(&h, &s, "iris-copy").await.0, 404);
    assert_eq!(
        post(&h, &s, "/v2/repository/models/iris-copy/load")
            .await
            .status,
        200
    );
    assert_eq!(predict(&h, &s, "iris-copy").await.0, 200);

    let r = post(&h, &s, "/v2/repository/models/not-there/load").await;
    assert_eq!(
        (r.status.as_u16(), r.error()),
        (404, "Model with name not-there does not exist.".into())
    );
}

#[tokio::test]
async fn load_and_unload_over_grpc() {
    use infergate_proto::grpc::pb::grpc_inference_service_client::GrpcInferenceServiceClient;
    use infergate_proto::grpc::pb::{
        ModelReadyRequest, RepositoryModelLoadRequest, RepositoryModelUnloadRequest,
    };
    let s = Server::infergate(&["--model_dir", example_models().to_str().unwrap()]);
    let mut c = GrpcInferenceServiceClient::connect(s.grpc_url())
        .await
        .unwrap();
    let ready = |c: &mut GrpcInferenceServiceClient<_>| {
        let mut c = c.clone();
        async move {
            c.model_ready(ModelReadyRequest {
                name: "intent".into(),
                version: String::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .ready
        }
    };
    assert!(ready(&mut c).await);
    c.repository_model_unload(RepositoryModelUnloadRequest {
        model_name: "intent".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    assert!(!ready(&mut c).await);
    let r = c
        .repository_model_load(RepositoryModelLoadRequest {
            model_name: "intent".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(r.into_inner().is_loaded);
    assert!(ready(&mut c).await);
}

#[tokio::test]
async fn version_folders_config_names_and_the_single_model_layout() {
    let repo = scratch_dir("repo-versions");
    let iris = example_models().join("sklearn-iris/model.onnx");
    for v in ["1", "3", "12"] {
        std::fs::create_dir_all(repo.join("flowers").join(v)).unwrap();
        std::fs::copy(&iris, repo.join("flowers").join(v).join("model.onnx")).unwrap();
    }
    std::fs::write(repo.join("flowers/config.toml"), "name = \"iris-v\"\n").unwrap();
    let s = Server::infergate(&["--model_dir", repo.to_str().unwrap()]);
    let h = Http::default();
    let meta = h.get(&s.url("/v2/models/iris-v")).await.json();
    assert_eq!(
        meta["versions"],
        json!(["1", "3", "12"]),
        "every version present is served"
    );
    for v in ["1", "3", "12"] {
        let ready = h
            .get(&s.url(&format!("/v2/models/iris-v/versions/{v}/ready")))
            .await;
        assert_eq!(ready.status, 200, "version {v}");
        let r = h
            .post_json(
                &s.url(&format!("/v2/models/iris-v/versions/{v}/infer")),
                &json!({"inputs": [{"name": "float_input", "shape": [1, 4], "datatype": "FP32",
                        "data": [6.8, 2.8, 4.8, 1.4]}]}),
            )
            .await;
        assert_eq!(r.status, 200, "version {v}: {}", r.text());
        assert_eq!(
            r.json()["model_version"],
            json!(v),
            "answered by version {v}"
        );
    }
    assert_eq!(
        h.get(&s.url("/v2/models/iris-v/versions/2/ready"))
            .await
            .status,
        404
    );
    let r = h
        .post_json(
            &s.url("/v2/models/iris-v/infer"),
            &json!({"inputs": [{"name": "float_input", "shape": [1, 4], "datatype": "FP32",
                    "data": [6.8, 2.8, 4.8, 1.4]}]}),
        )
        .await;
    assert_eq!(
        r.json()["model_version"],
        json!("12"),
        "no version: the newest"
    );
    assert_eq!(predict(&h, &s, "iris-v").await.0, 200);
    drop(s);

    // A version policy picks some: the newest one only, as before.
    std::fs::write(
        repo.join("flowers/config.toml"),
        "name = \"iris-v\"\nversion_policy = { latest = 1 }\n",
    )
    .unwrap();
    let s = Server::infergate(&["--model_dir", repo.to_str().unwrap()]);
    assert_eq!(
        h.get(&s.url("/v2/models/iris-v")).await.json()["versions"],
        json!(["12"])
    );
    assert_eq!(
        h.get(&s.url("/v2/models/iris-v/versions/3/ready"))
            .await
            .status,
        404
    );

    // KServe's layout: the model file right in --model_dir, named by --model_name.
    let single = scratch_dir("repo-single");
    std::fs::copy(&iris, single.join("iris.onnx")).unwrap();
    let s = Server::start(
        &bin("infergate-predictor"),
        &[
            "--model_dir",
            single.to_str().unwrap(),
            "--model_name",
            "my-iris",
        ],
        &[],
    );
    assert_eq!(
        predict(&h, &s, "my-iris").await,
        (200, r#"{"predictions":[1,1]}"#.into())
    );
}

#[tokio::test]
async fn a_corrupt_model_fails_its_load_and_the_server_stays_up() {
    let repo = scratch_dir("repo-corrupt");
    copy_dir(
        &example_models().join("sklearn-iris"),
        &repo.join("sklearn-iris"),
    );
    let s = Server::infergate(&["--model_dir", repo.to_str().unwrap()]);
    let h = Http::default();
    std::fs::create_dir_all(repo.join("broken")).unwrap();
    std::fs::write(
        repo.join("broken/model.onnx"),
        b"this is not an ONNX protobuf",
    )
    .unwrap();
    let r = post(&h, &s, "/v2/repository/models/broken/load").await;
    assert_eq!(r.status, 500);
    assert!(
        r.error().starts_with("cannot load model 'broken':"),
        "{}",
        r.error()
    );
    assert_eq!(
        predict(&h, &s, "sklearn-iris").await.0,
        200,
        "other models keep serving"
    );

    // Two candidate files and no model.onnx is ambiguous.
    std::fs::create_dir_all(repo.join("two")).unwrap();
    for f in ["a.onnx", "b.onnx"] {
        std::fs::copy(
            example_models().join("sklearn-iris/model.onnx"),
            repo.join("two").join(f),
        )
        .unwrap();
    }
    let r = post(&h, &s, "/v2/repository/models/two/load").await;
    assert!(
        r.error().contains("2 .onnx files and no model.onnx"),
        "{}",
        r.error()
    );

    std::fs::create_dir_all(repo.join("badconf")).unwrap();
    std::fs::copy(
        example_models().join("sklearn-iris/model.onnx"),
        repo.join("badconf/model.onnx"),
    )
    .unwrap();
    std::fs::write(repo.join("badconf/config.toml"), "v1_output = \"nope\"\n").unwrap();
    let r = post(&h, &s, "/v2/repository/models/badconf/load").await;
    assert!(
        r.error().contains("v1_output 'nope' is not an output"),
        "{}",
        r.error()
    );
    assert_eq!(h.get(&s.url("/v2/health/live")).await.status, 200);
}

#[test]
fn startup_fails_clearly_for_a_bad_repository_or_runtime() {
    let repo = scratch_dir("repo-startup");
    std::fs::create_dir_all(repo.join("broken")).unwrap();
    std::fs::write(repo.join("broken/model.onnx"), b"garbage").unwrap();
    let (ok, err) = run_to_exit(
        &bin("infergate"),
        &["--model_dir", repo.to_str().unwrap()],
        &[],
    );
    assert!(!ok && err.contains("cannot load model 'broken'"), "{err}");
    let (ok, err) = run_to_exit(
        &bin("infergate"),
        &["--model_dir", "/nonexistent/models"],
        &[],
    );
    assert!(
        !ok && err.contains("model directory /nonexistent/models does not exist"),
        "{err}"
    );
    // A repository with nothing to serve says what it holds instead of
    // serving zero models and answering ready.
    let empty = scratch_dir("repo-empty");
    let (ok, err) = run_to_exit(
        &bin("infergate-predictor"),
        &["--model_dir", empty.to_str().unwrap()],
        &[],
    );
    assert!(
        !ok && err.contains("no model to serve in") && err.contains("it is empty"),
        "{err}"
    );
    std::fs::create_dir_all(empty.join("iris/1")).unwrap();
    std::fs::write(empty.join("models.tar"), b"").unwrap();
    let (ok, err) = run_to_exit(
        &bin("infergate"),
        &["--model_dir", empty.to_str().unwrap()],
        &[],
    );
    assert!(!ok, "{err}");
    for want in [
        "'iris/', a folder with no .onnx file",
        "'models.tar', an archive (archives are unpacked when fetched with --storage_uri",
    ] {
        assert!(err.contains(want), "{want}: {err}");
    }
    let (ok, err) = run_to_exit(
        &bin("infergate-predictor"),
        &["--model_dir", example_models().to_str().unwrap()],
        &[("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")],
    );
    assert!(
        !ok && err.contains("cannot load the ONNX Runtime library /nonexistent/libonnxruntime.so"),
        "{err}"
    );
    assert!(
        err.contains("ORT_DYLIB_PATH"),
        "the error says how to fix it: {err}"
    );
}
