//! The fast JSON number reader against the general reader, on FP32 and
//! INT64 `data` text: where the fast one reads the text, the general one
//! must read the same values (bit for bit) and dims; where the general one
//! refuses it, the fast one must decline.
#![no_main]
use infergate_proto::fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some((fast, general)) = fuzzing::fp32(text) {
        match (fast, general) {
            (Some(Ok((fv, fd))), Ok((gv, gd))) => {
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&fv), bits(&gv), "FP32 values differ for {text:?}");
                assert_eq!(fd, gd, "FP32 dims differ for {text:?}");
            }
            (Some(Ok(_)), Err(e)) => panic!("fast read {text:?}, general refused: {e}"),
            _ => {}
        }
    }
    if let Some((fast, general)) = fuzzing::int64(text) {
        match (fast, general) {
            (Some(Ok(f)), Ok(g)) => assert_eq!(f, g, "INT64 differ for {text:?}"),
            (Some(Ok(_)), Err(e)) => panic!("fast read {text:?}, general refused: {e}"),
            _ => {}
        }
    }
});
