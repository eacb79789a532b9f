//! Any bytes as an HTTP/1.1 answer to the load generator: its head and
//! body reader (lengths, chunks, close-delimited) must read an answer, ask
//! for more, or refuse, never panic or accept a body the bytes do not hold.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((_status, body))) = infergate_loadtest::client::fuzz_read_answer(data) {
        assert!(body.len() <= data.len(), "a body longer than the bytes");
    }
});
