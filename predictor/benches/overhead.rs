//! Serving overhead of the predictor over a raw `session.run`, in process:
//! the same iris model and the same 2x4 input, (a) straight through an ORT
//! session, (b) through `OnnxModel::predict` (input checks, the session
//! thread hop, output copy), (c) the same with V1 JSON in and the V1 label
//! out. The HTTP round trip on top is measured with infergate-loadtest
//! (docs/benchmarks.md). Run: cargo bench -p infergate-predictor --bench overhead
use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use infergate_predictor::{LoadOptions, ModelDir, runtime};
use infergate_proto::{InferRequest, Tensor, TensorData};
use infergate_server::{Payload, Protocol, RequestContext};
use ort::session::Session;
use ort::value::TensorRef;

const ROWS: [f32; 8] = [6.8, 2.8, 4.8, 1.4, 6.0, 3.4, 4.5, 1.6];

fn models() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models")
}

fn bench(c: &mut Criterion) {
    runtime::init(None).expect("ONNX Runtime (run scripts/venv.sh requirements.txt)");
    let threads = runtime::default_intra_op_threads();
    let mut session = Session::builder(runtime::environment().unwrap())
        .unwrap()
        .with_intra_threads(threads)
        .unwrap()
        .commit_from_file(models().join("sklearn-iris/model.onnx"))
        .unwrap();
    c.bench_function("iris/raw_session_run", |b| {
        b.iter(|| {
            let input = TensorRef::from_array_view(([2usize, 4], &ROWS[..])).unwrap();
            let out = session.run(ort::inputs!["float_input" => input]).unwrap();
            black_box(out["label"].try_extract_tensor::<i64>().unwrap().1[0])
        })
    });

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let repo = ModelDir::new(
        models(),
        "model".into(),
        LoadOptions {
            device: runtime::Device::Cpu,
            intra_op_threads: Some(threads),
        },
    );
    let model = rt.block_on(async {
        let src = repo.find("sklearn-iris").unwrap().unwrap();
        repo.load_source(src).await.unwrap()
    });
    let ctx = RequestContext::new(Protocol::V2Rest);
    let request = InferRequest {
        inputs: vec![
            Tensor::new("float_input", vec![2, 4], TensorData::Fp32(ROWS.to_vec())).unwrap(),
        ],
        ..Default::default()
    };
    c.bench_function("iris/onnx_model_predict_v2", |b| {
        b.to_async(&rt).iter(|| async {
            black_box(
                model
                    .predict(Payload::V2(request.clone()), &ctx)
                    .await
                    .unwrap(),
            )
        })
    });
    let v1: serde_json::Value =
        serde_json::from_str(r#"{"instances": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]}"#)
            .unwrap();
    c.bench_function("iris/onnx_model_predict_v1", |b| {
        b.to_async(&rt).iter(|| async {
            black_box(model.predict(Payload::v1(v1.clone()), &ctx).await.unwrap())
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
