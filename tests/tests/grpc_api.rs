//! The gRPC front end against the real binary: every RPC of
//! inference.GRPCInferenceService, status codes, health and reflection.
use infergate_proto::grpc::pb::grpc_inference_service_client::GrpcInferenceServiceClient;
use infergate_proto::grpc::pb::*;
use infergate_proto::grpc::{request_to_grpc, response_from_grpc};
use infergate_proto::{InferRequest, Tensor, TensorData};
use infergate_tests::Server;
use tonic::Code;
use tonic::transport::Channel;

fn start() -> Server {
    Server::infergate(&["--builtin_models", "simple,echo"])
}

async fn client(s: &Server) -> GrpcInferenceServiceClient<Channel> {
    GrpcInferenceServiceClient::connect(s.grpc_url())
        .await
        .expect("connect")
}

async fn channel(s: &Server) -> Channel {
    Channel::from_shared(s.grpc_url())
        .unwrap()
        .connect()
        .await
        .expect("connect")
}

fn simple_request(raw: bool) -> ModelInferRequest {
    let req = InferRequest {
        id: Some("g1".into()),
        inputs: vec![
            Tensor::new("INPUT0", vec![1, 16], TensorData::Int32((0..16).collect())).unwrap(),
            Tensor::new("INPUT1", vec![1, 16], TensorData::Int32(vec![1; 16])).unwrap(),
        ],
        ..Default::default()
    };
    request_to_grpc("simple", None, &req, raw).unwrap()
}

#[tokio::test]
async fn health_and_metadata_rpcs() {
    let s = start();
    let mut c = client(&s).await;
    assert!(
        c.server_live(ServerLiveRequest {})
            .await
            .unwrap()
            .into_inner()
            .live
    );
    assert!(
        c.server_ready(ServerReadyRequest {})
            .await
            .unwrap()
            .into_inner()
            .ready
    );
    let ready = c
        .model_ready(ModelReadyRequest {
            name: "simple".into(),
            version: String::new(),
        })
        .await
        .unwrap();
    assert!(ready.into_inner().ready);
    let meta = c
        .server_metadata(ServerMetadataRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(meta.name, "infergate");
    let m = c
        .model_metadata(ModelMetadataRequest {
            name: "simple".into(),
            version: "1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(m.inputs[0].name, "INPUT0");
    assert_eq!(m.inputs[0].datatype, "INT32");
    assert_eq!(m.inputs[0].shape, vec![-1, 16]);

    for (name, version) in [("nope", ""), ("simple", "9")] {
        let r = c
            .model_ready(ModelReadyRequest {
                name: name.into(),
                version: version.into(),
            })
            .await
            .unwrap();
        assert!(!r.into_inner().ready, "{name} {version}");
    }
    let err = c
        .model_metadata(ModelMetadataRequest {
            name: "simple".into(),
            version: "9".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}

#[tokio::test]
async fn infer_answers_raw_to_raw_and_typed_to_typed() {
    let s = start();
    let mut c = client(&s).await;
    let raw = c
        .model_infer(simple_request(true))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        raw.raw_output_contents.len(),
        2,
        "tritonclient reads raw_output_contents"
    );
    assert_eq!(raw.id, "g1");
    assert_eq!(raw.model_name, "simple");
    let resp = response_from_grpc(raw).unwrap();
    assert_eq!(resp.outputs[0].data, TensorData::Int32((1..17).collect()));

    let typed = c
        .model_infer(simple_request(false))
        .await
        .unwrap()
        .into_inner();
    assert!(typed.raw_output_contents.is_empty());
    assert_eq!(
        typed.outputs[1].contents.as_ref().unwrap().int_contents,
        (-1..15).collect::<Vec<i32>>()
    );

    let mut only = simple_request(true);
    only.outputs
        .push(model_infer_request::InferRequestedOutputTensor {
            name: "OUTPUT1".into(),
            parameters: Default::default(),
        });
    let one = c.model_infer(only).await.unwrap().into_inner();
    assert_eq!(one.outputs.len(), 1);
    assert_eq!(one.outputs[0].name, "OUTPUT1");
}

#[tokio::test]
async fn infer_errors_carry_kserve_codes() {
    let s = start();
    let mut c = client(&s).await;
    let mut unknown = simple_request(true);
    unknown.model_name = "nope".into();
    let err = c.model_infer(unknown).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(err.message(), "Model with name nope does not exist.");

    let mut bad_shape = simple_request(true);
    bad_shape.inputs[0].shape = vec![2, 16];
    let err = c.model_infer(bad_shape).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        err.message(),
        "tensor 'INPUT0': shape [2, 16] needs 32 elements but 16 were given"
    );

    let mut bad_type = simple_request(true);
    bad_type.inputs[1].datatype = "FP32".into();
    let err = c.model_infer(bad_type).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(err.message(), "input 'INPUT1' must be INT32, got FP32");

    let mut missing_raw = simple_request(true);
    missing_raw.raw_input_contents.pop();
    let err = c.model_infer(missing_raw).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);

    // The server is still serving.
    assert!(c.server_live(ServerLiveRequest {}).await.is_ok());
}

#[tokio::test]
async fn oversized_messages_are_refused() {
    let s = Server::infergate(&[
        "--builtin_models",
        "echo",
        "--grpc_max_receive_message_length",
        "1024",
    ]);
    let mut c = client(&s).await;
    let req = InferRequest {
        inputs: vec![Tensor::new("x", vec![1000], TensorData::Fp32(vec![0.5; 1000])).unwrap()],
        ..Default::default()
    };
    let err = c
        .model_infer(request_to_grpc("echo", None, &req, true).unwrap())
        .await
        .unwrap_err();
    // KServe's and grpc-go's code for a message over the receive limit.
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert!(
        err.message()
            .contains("larger than the limit of 1024 bytes"),
        "{}",
        err.message()
    );
    assert!(c.server_live(ServerLiveRequest {}).await.is_ok());
}

#[tokio::test]
async fn repository_rpcs() {
    let s = start();
    let mut c = client(&s).await;
    let r = c
        .repository_model_unload(RepositoryModelUnloadRequest {
            model_name: "simple".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.is_unloaded);
    let err = c.model_infer(simple_request(true)).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let r = c
        .repository_model_load(RepositoryModelLoadRequest {
            model_name: "simple".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.is_loaded);
    assert!(c.model_infer(simple_request(true)).await.is_ok());
    let err = c
        .repository_model_load(RepositoryModelLoadRequest {
            model_name: "../x".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn grpc_health_service_reports_serving() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let s = start();
    let mut h = HealthClient::new(channel(&s).await);
    for service in ["", "inference.GRPCInferenceService"] {
        let mut status = ServingStatus::Unknown as i32;
        // The status is published right after start; give it a moment.
        for _ in 0..50 {
            status = h
                .check(HealthCheckRequest {
                    service: service.into(),
                })
                .await
                .map(|r| r.into_inner().status)
                .unwrap_or(status);
            if status == ServingStatus::Serving as i32 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(status, ServingStatus::Serving as i32, "service '{service}'");
    }
}

#[tokio::test]
async fn reflection_lists_the_services() {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let s = start();
    let mut c = ServerReflectionClient::new(channel(&s).await);
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = c
        .server_reflection_info(tokio_stream::iter([req]))
        .await
        .unwrap()
        .into_inner();
    let msg = stream.message().await.unwrap().expect("one answer");
    let Some(MessageResponse::ListServicesResponse(list)) = msg.message_response else {
        panic!("unexpected reflection answer: {msg:?}");
    };
    let names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    for want in ["inference.GRPCInferenceService", "grpc.health.v1.Health"] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
}

/// grpcurl (the real Go client, from the test venv) lists and calls the
/// service through reflection alone.
#[tokio::test]
async fn grpcurl_works_through_reflection() {
    let Some(python) = infergate_tests::python() else {
        return;
    };
    let grpcurl = python.with_file_name("grpcurl");
    let s = start();
    let addr = s.grpc.unwrap().to_string();
    let run = |args: Vec<String>| {
        let out = std::process::Command::new(&grpcurl)
            .args(&args)
            .output()
            .expect("run grpcurl");
        assert!(
            out.status.success(),
            "grpcurl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let list = run(vec!["-plaintext".into(), addr.clone(), "list".into()]);
    assert!(list.contains("inference.GRPCInferenceService"), "{list}");
    let methods = run(vec![
        "-plaintext".into(),
        addr.clone(),
        "list".into(),
        "inference.GRPCInferenceService".into(),
    ]);
    assert!(
        methods.contains("inference.GRPCInferenceService.ModelInfer"),
        "{methods}"
    );
    let body = r#"{"model_name":"simple","inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,16],"contents":{"int_contents":[1,2,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}},{"name":"INPUT1","datatype":"INT32","shape":[1,16],"contents":{"int_contents":[10,20,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}}]}"#;
    let out = run(vec![
        "-plaintext".into(),
        "-d".into(),
        body.into(),
        addr,
        "inference.GRPCInferenceService/ModelInfer".into(),
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["outputs"][0]["contents"]["intContents"],
        serde_json::json!([11, 22, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        "{out}"
    );
}
