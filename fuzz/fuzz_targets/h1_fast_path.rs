//! The HTTP/1.1 fast path's parser against hyper on the same bytes: every
//! request the fast path takes (heads, Content-Length bodies, pipelined
//! requests one after another) must be one hyper, with the server's
//! settings, takes from those bytes too, the same method, target, headers
//! and body, in the same order; whatever the fast path does not take it
//! hands, with the rest of the bytes, to hyper. Neither may panic or hang.
#![no_main]
use infergate_server::fuzzing::{h1_fast_path, h1_hyper};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (fast, _end) = h1_fast_path(data);
    let Some(hyper) = h1_hyper(data) else {
        panic!("hyper did not finish on {data:?}");
    };
    assert!(
        hyper.len() >= fast.len(),
        "the fast path took {} requests, hyper {} from {:?}: {fast:?} vs {hyper:?}",
        fast.len(),
        hyper.len(),
        String::from_utf8_lossy(data)
    );
    for (i, (f, h)) in fast.iter().zip(&hyper).enumerate() {
        assert_eq!(
            f,
            h,
            "request {i} differs for {:?}",
            String::from_utf8_lossy(data)
        );
    }
});
