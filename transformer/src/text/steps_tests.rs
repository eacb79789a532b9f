//! The text steps as a declarative transformer runs them from its TOML.
use infergate_proto::{
    DataType, ErrorClass, InferRequest, InferResponse, Payload, Protocol, Reply, RequestContext,
    Tensor, TensorData,
};
use serde_json::json;

use crate::{Declarative, Transformer};

fn config() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/text/testdata/tokenizer.json"
    );
    format!(
        r#"
        [[preprocess]]
        op = "tokenize"
        tokenizer = "{path}"
        max_length = 4
        max_texts = 3
        [[postprocess]]
        op = "mean_pool"
        [[postprocess]]
        op = "classify"
        tensor = "logits"
        labels = ["no", "yes"]
        "#
    )
}

fn ctx() -> RequestContext {
    RequestContext::new(Protocol::V1)
}

#[tokio::test]
async fn v1_texts_become_model_inputs() {
    let t = Declarative::from_toml(&config()).unwrap();
    let body = json!({"instances": ["hello world", "a"]});
    let Payload::V2(req) = t.preprocess(Payload::v1(body), &ctx()).await.unwrap() else {
        panic!("tensors expected")
    };
    let names: Vec<&str> = req.inputs.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["input_ids", "attention_mask", "token_type_ids"]);
    assert_eq!(req.inputs[0].datatype(), DataType::Int64);
    assert_eq!(
        req.inputs[0].data,
        TensorData::Int64(vec![2, 4, 5, 3, 2, 7, 3, 0])
    );
}

#[tokio::test]
async fn bad_texts_are_invalid_input() {
    let t = Declarative::from_toml(&config()).unwrap();
    for (body, want) in [
        (
            json!({"instances": ["a", {"x": 1}]}),
            "instance 1 is not a string",
        ),
        (json!({"instances": []}), "no texts to tokenize"),
        (json!({"instances": ["a", "a", "a", "a"]}), "(max_texts)"),
    ] {
        let err = t.preprocess(Payload::v1(body), &ctx()).await.unwrap_err();
        assert!(err.to_string().contains(want), "{err}");
        assert_eq!(err.class(), ErrorClass::InvalidInput);
    }
    let bytes = Tensor::new("text", vec![1], TensorData::Bytes(vec![vec![0xc3]])).unwrap();
    let req = InferRequest {
        inputs: vec![bytes],
        ..Default::default()
    };
    let err = t.preprocess(Payload::V2(req), &ctx()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "text 0 of tensor 'text' is not valid UTF-8"
    );
    assert_eq!(err.class(), ErrorClass::InvalidInput);
}

#[tokio::test]
async fn answers_are_pooled_and_classified() {
    let t = Declarative::from_toml(&config()).unwrap();
    let answer = InferResponse {
        outputs: vec![
            Tensor::new(
                "last_hidden_state",
                vec![1, 2, 2],
                TensorData::Fp32(vec![3.0, 4.0, 9.0, 9.0]),
            )
            .unwrap(),
            Tensor::new("attention_mask", vec![1, 2], TensorData::Int64(vec![1, 0])).unwrap(),
            Tensor::new("logits", vec![1, 2], TensorData::Fp32(vec![0.0, 2.0])).unwrap(),
        ],
        ..Default::default()
    };
    let Reply::V2(out) = t.postprocess(Reply::V2(answer), &ctx()).await.unwrap() else {
        panic!("tensors expected")
    };
    let names: Vec<&str> = out.outputs.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["embedding", "probabilities", "label"]);
    assert_eq!(out.outputs[0].data, TensorData::Fp32(vec![0.6, 0.8]));
    assert_eq!(
        out.outputs[2].data,
        TensorData::Bytes(vec![b"yes".to_vec()])
    );
}

#[test]
fn text_step_configs_are_checked_at_startup() {
    for (text, want) in [
        (
            "[[preprocess]]\nop = \"tokenize\"\ntokenizer = \"/nope.json\"",
            "cannot load tokenizer /nope.json",
        ),
        (
            "[[postprocess]]\nop = \"classify\"\nlabels = [\"a\"]",
            "at least two labels",
        ),
        (
            "[[postprocess]]\nop = \"mean_pool\"\npool = 1",
            "unknown field",
        ),
    ] {
        let err = Declarative::from_toml(text).unwrap_err().to_string();
        assert!(err.contains(want), "{text}: {err}");
    }
}
