//! Percentiles against a mock whose latency distribution is known. The mock
//! sleeps on tokio's 1 ms timer, so every latency is late by 0-1 ms plus
//! scheduling; the bounds allow that upward slack and about four standard
//! errors of sampling either way.
mod common;

use common::{Mock, f, run_json, u};

#[test]
fn closed_loop_percentiles_match_a_uniform_latency() {
    // Latency uniform in [20 ms, 60 ms): p50 40, p90 56, p99 59.6.
    let mock = Mock::start(&["--latency", "20ms", "--latency-dist", "uniform:40ms"]);
    let url = format!("http://{}", mock.http);
    let r = run_json(&["-m", "m", "-c", "32", "-d", "2s", "-w", "300ms", &url]);
    let l = &r["targets"][0]["latency_ms"];
    // About 1600 samples: the standard error of p50 is 0.5 ms, of p90 0.3 ms.
    let n = u(&l["samples"]);
    assert!(n > 1000, "{n} samples");
    let (min, p50, p90, p99) = (f(&l["min"]), f(&l["p50"]), f(&l["p90"]), f(&l["p99"]));
    assert!(min >= 20.0, "min {min}");
    assert!((38.0..=45.0).contains(&p50), "p50 {p50}");
    assert!((54.0..=61.0).contains(&p90), "p90 {p90}");
    assert!((57.5..=68.0).contains(&p99), "p99 {p99}");
    let mean = f(&l["mean"]);
    assert!((38.5..=45.0).contains(&mean), "mean {mean}");
}

#[test]
fn open_loop_percentiles_match_a_fixed_latency() {
    // Well under capacity, open-loop latency is the server's: 10 ms.
    let mock = Mock::start(&["--latency", "10ms"]);
    let r = run_json(&[
        "-m",
        "m",
        "-r",
        "200",
        "-d",
        "2s",
        "-w",
        "200ms",
        "-c",
        "16",
        &format!("grpc://{}", mock.grpc),
    ]);
    let l = &r["targets"][0]["latency_ms"];
    let (min, p50, p99) = (f(&l["min"]), f(&l["p50"]), f(&l["p99"]));
    assert!(min >= 10.0, "min {min}");
    assert!((10.0..=13.0).contains(&p50), "p50 {p50}");
    assert!(p99 < 25.0, "p99 {p99}");
}

#[test]
fn the_percentile_curve_rises_to_the_max() {
    let mock = Mock::start(&["--latency", "1ms", "--latency-dist", "exponential:2ms"]);
    let url = format!("http://{}", mock.http);
    let r = run_json(&["-m", "m", "-c", "8", "-n", "1000", "-w", "0s", &url]);
    let t = &r["targets"][0];
    let pts: Vec<(f64, f64)> = t["percentiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (f(&p["percentile"]), f(&p["ms"])))
        .collect();
    assert_eq!(pts.first().unwrap().0, 0.0);
    assert_eq!(pts.last().unwrap(), &(100.0, f(&t["latency_ms"]["max"])));
    assert!(pts.windows(2).all(|w| w[0].1 <= w[1].1), "{pts:?}");
}
