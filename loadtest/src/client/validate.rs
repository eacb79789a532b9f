//! `--validate`: whether an answer decodes as the protocol's response.
use infergate_proto::grpc::pb::ModelInferResponse;
use infergate_proto::grpc::response_from_grpc;
use prost::Message;

use crate::target::Protocol;

pub fn http(protocol: Protocol, body: &[u8], json_len: Option<usize>) -> bool {
    match protocol {
        Protocol::V1 => serde_json::from_slice::<serde_json::Value>(body)
            .is_ok_and(|v| v.get("predictions").is_some() || v.get("outputs").is_some()),
        Protocol::V2 | Protocol::V2Binary => {
            infergate_proto::v2::decode_response(body, json_len).is_ok()
        }
        Protocol::Grpc => grpc(body),
    }
}

pub fn grpc(msg: &[u8]) -> bool {
    ModelInferResponse::decode(msg).is_ok_and(|m| response_from_grpc(m).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_checked_per_protocol() {
        assert!(http(Protocol::V1, br#"{"predictions":[1]}"#, None));
        assert!(!http(Protocol::V1, br#"{"error":"x"}"#, None));
        assert!(http(
            Protocol::V2,
            br#"{"model_name":"m","outputs":[]}"#,
            None
        ));
        assert!(!http(Protocol::V2, b"not json", None));
        assert!(grpc(&[]), "an empty message is a valid empty response");
        assert!(!grpc(&[0xff]));
    }
}
