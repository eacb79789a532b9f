//! Codec costs on the hot path: V2 JSON decode + encode of a 1x1000 FP32
//! tensor, the same through the binary extension, gRPC raw contents, and the
//! V1 -> V2 conversion of iris-like instances, and the one-row binary request
//! of the batching benchmark. Figures: docs/benchmarks.md.
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use infergate_proto::grpc::{request_from_grpc, request_to_grpc};
use infergate_proto::{
    DataType, InferRequest, InferResponse, OutputFormat, Tensor, TensorData, TensorMetadata, v1, v2,
};

fn fp32_request(n: usize) -> InferRequest {
    let values = (0..n).map(|i| (i as f32) * 0.37 - 91.5).collect();
    InferRequest {
        id: Some("bench".into()),
        inputs: vec![Tensor::new("input", vec![1, n], TensorData::Fp32(values)).unwrap()],
        ..Default::default()
    }
}

fn as_response(req: InferRequest) -> InferResponse {
    InferResponse {
        model_name: "bench".into(),
        id: req.id,
        outputs: req.inputs,
        ..Default::default()
    }
}

fn v2_codecs(c: &mut Criterion) {
    let req = fp32_request(1000);
    let json = v2::encode_request(&req, false).unwrap();
    let binary = v2::encode_request(&req, true).unwrap();
    let mut g = c.benchmark_group("v2_1x1000_fp32");
    g.throughput(Throughput::Elements(1000));
    g.bench_function("json_decode_encode", |b| {
        b.iter(|| {
            let r = v2::decode_request(black_box(&json.body), None).unwrap();
            v2::encode_response(&as_response(r), &OutputFormat::default()).unwrap()
        })
    });
    g.bench_function("json_decode", |b| {
        b.iter(|| v2::decode_request(black_box(&json.body), None).unwrap())
    });
    g.bench_function("json_encode", |b| {
        let resp = as_response(req.clone());
        b.iter(|| v2::encode_response(black_box(&resp), &OutputFormat::default()).unwrap())
    });
    g.bench_function("binary_decode_encode", |b| {
        let mut fmt_req = InferRequest::default();
        fmt_req.parameters.insert(
            "binary_data_output".into(),
            infergate_proto::ParamValue::Bool(true),
        );
        let fmt = OutputFormat::from_request(&fmt_req);
        b.iter(|| {
            let r = v2::decode_request(black_box(&binary.body), binary.json_len).unwrap();
            v2::encode_response(&as_response(r), &fmt).unwrap()
        })
    });
    g.bench_function("grpc_raw_decode_encode", |b| {
        let msg = request_to_grpc("bench", None, &req, true).unwrap();
        b.iter(|| {
            let r = request_from_grpc(black_box(msg.clone())).unwrap();
            infergate_proto::grpc::response_to_grpc(&as_response(r.request), true).unwrap()
        })
    });
    g.finish();
}

fn v1_conversion(c: &mut Criterion) {
    let body: serde_json::Value =
        serde_json::from_str(r#"{"instances": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]}"#)
            .unwrap();
    let meta = [TensorMetadata {
        name: "float_input".into(),
        datatype: DataType::Fp32,
        shape: vec![-1, 4],
    }];
    let batch: serde_json::Value = serde_json::json!({
        "instances": (0..250).map(|i| vec![i as f64 * 0.1, 1.5, 2.25, 3.0]).collect::<Vec<_>>()
    });
    let mut g = c.benchmark_group("v1_to_v2");
    g.bench_function("iris_2x4", |b| {
        b.iter(|| v1::request_to_v2(black_box(&body), &meta).unwrap())
    });
    g.throughput(Throughput::Elements(1000));
    g.bench_function("instances_250x4", |b| {
        b.iter(|| v1::request_to_v2(black_box(&batch), &meta).unwrap())
    });
    g.finish();
}

/// The MLP request of the batching benchmark as `infergate-loadtest -b 1`
/// (and tritonclient) sends it: one 1x256 FP32 row in the binary extension,
/// binary outputs asked for; the answer is one 1x10 FP32 row.
fn v2_binary_row(c: &mut Criterion) {
    let mut req = fp32_request(256);
    req.id = None;
    req.parameters.insert(
        "binary_data_output".into(),
        infergate_proto::ParamValue::Bool(true),
    );
    let body = v2::encode_request(&req, true).unwrap();
    let fmt = OutputFormat::from_request(&req);
    let resp = InferResponse {
        model_name: "mlp".into(),
        outputs: vec![Tensor::new("output", vec![1, 10], TensorData::Fp32(vec![0.5; 10])).unwrap()],
        ..Default::default()
    };
    let mut g = c.benchmark_group("v2_binary_1x256_fp32");
    g.bench_function("decode_request", |b| {
        b.iter(|| v2::decode_request(black_box(&body.body), body.json_len).unwrap())
    });
    g.bench_function("encode_response_1x10", |b| {
        b.iter(|| v2::encode_response(black_box(&resp), &fmt).unwrap())
    });
    g.finish();
}

criterion_group!(benches, v2_codecs, v2_binary_row, v1_conversion);
criterion_main!(benches);
