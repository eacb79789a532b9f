//! The fast JSON number reader against the general reader, on FP32 and
//! INT64 `data` text, and against the V1 reader for FP32 `instances`: where
//! both read the text they must agree bit for bit (values and dims); the
//! general reader must refuse whatever the fast one declines, and the V1
//! reader must read every non-empty list the fast one reads.
#![no_main]
use infergate_proto::fuzzing;
use libfuzzer_sys::fuzz_target;

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some((fast, general)) = fuzzing::fp32(text) {
        match (fast, general) {
            (Some(Ok((fv, fd))), Ok((gv, gd))) => {
                assert_eq!(bits(&fv), bits(&gv), "FP32 values differ for {text:?}");
                assert_eq!(fd, gd, "FP32 dims differ for {text:?}");
            }
            (Some(Ok(_)), Err(e)) => panic!("fast read {text:?}, general refused: {e}"),
            (None, Ok(_)) => panic!("fast declined {text:?}, general read it"),
            _ => {}
        }
    }
    if let Some((fast, general)) = fuzzing::int64(text) {
        match (fast, general) {
            (Some(Ok(f)), Ok(g)) => assert_eq!(f, g, "INT64 differ for {text:?}"),
            (Some(Ok(_)), Err(e)) => panic!("fast read {text:?}, general refused: {e}"),
            (None, Ok(_)) => panic!("fast declined {text:?}, general read it"),
            _ => {}
        }
    }
    if let Some((fast, v1)) = fuzzing::v1_fp32(text) {
        match (fast, v1) {
            (Some(Ok((fv, fd))), Ok((vv, vd))) => {
                assert_eq!(bits(&fv), bits(&vv), "V1 FP32 values differ for {text:?}");
                assert_eq!(fd, vd, "V1 FP32 dims differ for {text:?}");
            }
            (Some(Ok((fv, fd))), Err(e)) if fd.len() > 0 && !fv.is_empty() => {
                panic!("fast read {text:?}, V1 refused: {e}")
            }
            _ => {}
        }
    }
});
