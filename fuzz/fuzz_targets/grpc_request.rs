//! gRPC ModelInfer messages: arbitrary bytes through prost's decoder and
//! the conversion to the protocol-independent request.
#![no_main]
use infergate_proto::grpc::pb::ModelInferRequest;
use libfuzzer_sys::fuzz_target;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = ModelInferRequest::decode(data) {
        let _ = infergate_proto::grpc::request_from_grpc(msg);
    }
});
