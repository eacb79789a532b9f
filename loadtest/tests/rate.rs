//! Open loop: the achieved rate against the mock, and latency counted from
//! the intended send time (coordinated omission).
mod common;

use common::{Mock, f, run_json, u};

#[test]
fn constant_open_loop_rate_is_within_one_percent() {
    let mock = Mock::start(&["--latency", "1ms"]);
    let url = format!("http://{}", mock.http);
    let r = run_json(&[
        "-m", "m", "-r", "800", "-d", "3s", "-w", "500ms", "-c", "16", &url,
    ]);
    let t = &r["targets"][0];
    let o = &t["open_loop"];
    let achieved = f(&o["achieved_rate"]);
    assert!(
        (achieved - 800.0).abs() <= 8.0,
        "achieved {achieved}/s: {o}"
    );
    assert_eq!(u(&o["scheduled"]), 2400);
    assert_eq!(u(&o["missed"]), 0);
    assert_eq!((u(&t["requests"]), u(&t["errors"]["total"])), (2400, 0));
    // Every scheduled request reached the server: 400 in warm-up, 2400 measured.
    assert_eq!(mock.stats().0, 2800);
}

#[test]
fn poisson_open_loop_keeps_its_schedule() {
    let mock = Mock::start(&[]);
    let r = run_json(&[
        "-m",
        "m",
        "-r",
        "1000",
        "--arrival",
        "poisson",
        "-d",
        "2s",
        "-w",
        "0s",
        "-c",
        "16",
        &format!("grpc://{}", mock.grpc),
    ]);
    let o = &r["targets"][0]["open_loop"];
    // A Poisson count over 2 s at 1000/s has sd sqrt(2000) = 45: allow 4 sd.
    let scheduled = u(&o["scheduled"]) as f64;
    assert!((scheduled - 2000.0).abs() < 180.0, "{o}");
    let (achieved, planned) = (f(&o["achieved_rate"]), f(&o["scheduled_rate"]));
    assert!((achieved - planned).abs() <= planned * 0.01, "{o}");
    assert_eq!(r["config"]["arrival"], "poisson");
}

#[test]
fn open_loop_latency_counts_from_the_intended_send_time() {
    // One connection to a 20 ms server asked for 100 requests/s: it can serve
    // only 50/s, so request k waits about 10k ms behind the others. A tool
    // that timed from the actual send would report 20 ms throughout.
    let mock = Mock::start(&["--latency", "20ms"]);
    let url = format!("http://{}", mock.http);
    let r = run_json(&[
        "-m", "m", "-r", "100", "-d", "500ms", "-w", "0s", "-c", "1", &url,
    ]);
    let t = &r["targets"][0];
    let (p50, max) = (f(&t["latency_ms"]["p50"]), f(&t["latency_ms"]["max"]));
    assert!(p50 > 150.0, "p50 {p50} ms");
    assert!(max > 400.0, "max {max} ms");
    let o = &t["open_loop"];
    assert!(u(&o["late"]) > 10, "{o}");
    assert!(f(&o["achieved_rate"]) < 70.0, "{o}");
    assert!(
        f(&t["rps"]) < 60.0,
        "throughput over the real elapsed time: {}",
        t["rps"]
    );
    assert_eq!(
        u(&t["requests"]),
        50,
        "late requests are still sent and measured"
    );
}
