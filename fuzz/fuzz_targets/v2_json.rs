//! V2 JSON request bodies: any bytes decode or give an error, never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = infergate_proto::v2::decode_request(data, None);
});
