//! The batch rules without a predictor: which requests may share a batch,
//! how members are joined, and how an answer is cut back into theirs.
use infergate_proto::{Protocol, Tensor, TensorData};
use serde_json::json;

use super::*;

fn ctx(headers: &[(&'static str, &'static str)]) -> RequestContext {
    let mut c = RequestContext::new(Protocol::V2Rest);
    c.request_id = "r".into();
    for (k, v) in headers {
        c.headers.insert(*k, http::HeaderValue::from_static(v));
    }
    c
}

fn v2(rows: &[[f32; 2]], id: &str) -> Payload {
    Payload::V2(InferRequest {
        id: Some(id.into()),
        inputs: vec![
            Tensor::new(
                "x",
                vec![rows.len(), 2],
                TensorData::Fp32(rows.iter().flatten().copied().collect()),
            )
            .unwrap(),
        ],
        ..Default::default()
    })
}

fn v1(instances: serde_json::Value) -> Payload {
    Payload::v1(json!({ "instances": instances }))
}

fn key_of(p: &Payload, c: &RequestContext) -> Option<(BatchKey, usize)> {
    key(p, c, &["x-tenant".to_string()])
}

#[test]
fn requests_share_a_key_when_all_but_their_rows_agree() {
    let plain = ctx(&[]);
    let (a, rows) = key_of(&v2(&[[1.0, 2.0]], "a"), &plain).unwrap();
    assert_eq!(rows, 1);
    let (b, rows) = key_of(&v2(&[[1.0, 2.0], [3.0, 4.0]], "b"), &plain).unwrap();
    assert_eq!((a, rows), (b, 2), "rows and ids do not enter the key");
    // Trace context and request ids are each request's own.
    let traced = ctx(&[("traceparent", "00-1-2-01"), ("x-request-id", "other")]);
    assert_eq!(key_of(&v2(&[[0.0; 2]], "c"), &traced).unwrap().0, a);
    // What travels upstream with the batch must agree: credentials and the
    // --forward_header allow-list.
    for headers in [[("authorization", "Bearer one")], [("x-tenant", "acme")]] {
        assert_ne!(key_of(&v2(&[[0.0; 2]], "d"), &ctx(&headers)).unwrap().0, a);
    }
    let (v1_key, rows) = key_of(&v1(json!([[1, 2], [3, 4], [5, 6]])), &plain).unwrap();
    assert_eq!(rows, 3);
    assert_ne!(v1_key, a, "V1 and V2 requests are batched apart");
    let with_params = Payload::v1(json!({"instances": [[1, 2]], "parameters": {"t": 1}}));
    assert_ne!(key_of(&with_params, &plain).unwrap().0, v1_key);
}

#[test]
fn requests_without_rows_are_not_batched() {
    let plain = ctx(&[]);
    for body in [
        json!({"instances": []}),
        json!({"inputs": [[1, 2]]}),
        json!([1, 2]),
    ] {
        assert_eq!(key_of(&Payload::v1(body.clone()), &plain), None, "{body}");
    }
    let scalar = Payload::V2(InferRequest {
        inputs: vec![Tensor::new("s", vec![], TensorData::Fp32(vec![1.0])).unwrap()],
        ..Default::default()
    });
    assert_eq!(key_of(&scalar, &plain), None);
}

#[test]
fn v1_members_join_their_instances_in_order() {
    let joined = join(vec![v1(json!([[1, 2]])), v1(json!([[3, 4], [5, 6]]))]).unwrap();
    let Payload::V1(body) = joined else {
        panic!("{joined:?}")
    };
    assert_eq!(*body, json!({"instances": [[1, 2], [3, 4], [5, 6]]}));
}

#[test]
fn unchanged_v1_members_join_as_the_callers_wrote_them() {
    let sent = |t: &str| Payload::V1(V1Body::parse(Bytes::copy_from_slice(t.as_bytes())).unwrap());
    let joined = join(vec![
        sent(r#"{"instances": [[1.10, 2e0]]}"#),
        sent(r#" { "instances" : [ ] } "#),
        sent(r#"{"instances":[[3.0,4.5],[5,6]]}"#),
    ])
    .unwrap();
    let Payload::V1(body) = joined else {
        panic!("{joined:?}")
    };
    let text = body.text().expect("spliced text");
    assert_eq!(&text[..], br#"{"instances":[[1.10, 2e0],[3.0,4.5],[5,6]]}"#);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(text).unwrap(),
        *body,
        "the text is the value's"
    );
    // Other fields, or a body a transform changed: the value is written.
    for other in [
        sent(r#"{"instances": [[1, 2]], "parameters": {}}"#),
        v1(json!([[1, 2]])),
    ] {
        let Payload::V1(body) = join(vec![sent(r#"{"instances": [[0, 0]]}"#), other]).unwrap()
        else {
            panic!()
        };
        assert!(body.text().is_none());
        assert_eq!(body["instances"], json!([[0, 0], [1, 2]]));
    }
}

#[test]
fn v2_members_join_along_the_first_dimension() {
    let joined = join(vec![
        v2(&[[1.0, 2.0]], "a"),
        v2(&[[3.0, 4.0], [5.0, 6.0]], "b"),
    ])
    .unwrap();
    let Payload::V2(req) = joined else {
        panic!("{joined:?}")
    };
    assert_eq!(req.inputs[0].shape, [3, 2]);
    assert_eq!(
        req.inputs[0].data,
        TensorData::Fp32(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    );
    assert!(join(vec![v2(&[[1.0, 2.0]], "a"), v1(json!([[1, 2]]))]).is_err());
}

#[test]
fn a_v1_answer_is_cut_by_rows() {
    let reply = Reply::V1(json!({"predictions": [10, 11, 12, 13]}));
    let parts = split_reply(reply, &[1, 3], vec![None, None]).unwrap();
    assert_eq!(
        parts,
        [
            Reply::V1(json!({"predictions": [10]})),
            Reply::V1(json!({"predictions": [11, 12, 13]})),
        ]
    );
    for bad in [
        json!({"predictions": [1, 2, 3]}),
        json!({"predictions": 7}),
        json!({"outputs": []}),
    ] {
        let err = split_reply(Reply::V1(bad.clone()), &[1, 3], vec![None, None]).unwrap_err();
        assert_eq!(err.class(), ErrorClass::BadGateway, "{bad}");
        assert!(err.to_string().contains("cannot be batched"), "{err}");
    }
}

#[test]
fn a_v2_answer_is_split_by_rows_with_each_members_id() {
    let reply = Reply::V2(InferResponse {
        model_name: "m".into(),
        id: Some("batch".into()),
        outputs: vec![Tensor::new("y", vec![3], TensorData::Int64(vec![7, 8, 9])).unwrap()],
        ..Default::default()
    });
    let parts = split_reply(reply, &[2, 1], vec![Some("a".into()), None]).unwrap();
    let [Reply::V2(a), Reply::V2(b)] = &parts[..] else {
        panic!("{parts:?}")
    };
    assert_eq!((a.id.as_deref(), b.id.as_deref()), (Some("a"), None));
    assert_eq!(a.outputs[0].data, TensorData::Int64(vec![7, 8]));
    assert_eq!(
        (b.outputs[0].shape.clone(), b.model_name.as_str()),
        (vec![1], "m")
    );
    let whole = Reply::V2(InferResponse {
        outputs: vec![Tensor::new("y", vec![1], TensorData::Int64(vec![1])).unwrap()],
        ..Default::default()
    });
    let err = split_reply(whole, &[2, 1], vec![None, None]).unwrap_err();
    assert_eq!(err.class(), ErrorClass::BadGateway);
}

#[test]
fn only_refusals_of_the_input_send_members_again_alone() {
    let status = |s| UpstreamError::Status {
        status: s,
        message: String::new(),
    };
    assert!(is_callers_fault(&status(400)));
    assert!(is_callers_fault(&status(422)));
    assert!(!is_callers_fault(&status(429)), "overload is everyone's");
    assert!(!is_callers_fault(&status(500)));
    assert!(!is_callers_fault(&UpstreamError::Timeout(
        Duration::from_secs(1)
    )));
}

#[test]
fn the_flags_give_the_agents_defaults() {
    let flags = BatcherFlags {
        enable_batcher: true,
        max_batchsize: 32,
        max_latency: 5000,
        batcher_max_queue_size: 1024,
        batcher_workers: 2,
    };
    let s = settings(&flags).unwrap();
    assert_eq!(
        (s.max_batch_size, s.max_queue_delay, s.max_queue_size),
        (32, Duration::from_secs(5), 1024)
    );
    assert_eq!(
        settings(&BatcherFlags {
            enable_batcher: false,
            ..flags
        }),
        None
    );
}
