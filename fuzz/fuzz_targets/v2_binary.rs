//! Binary tensor extension bodies: the first two bytes choose the JSON
//! head's length (as Inference-Header-Content-Length would), the rest is
//! the body.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let json_len = usize::from(u16::from_le_bytes([data[0], data[1]]));
    let _ = infergate_proto::v2::decode_request(&data[2..], Some(json_len));
});
