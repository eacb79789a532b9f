//! KServe V1 bodies: parsed as JSON, converted to V2 tensors (with no
//! model metadata, as for a model that declares none), and back to V1.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Ok((req, _form)) = infergate_proto::v1::request_to_v2(&body, &[]) {
        let _ = infergate_proto::v1::request_to_v1(&req);
    }
});
