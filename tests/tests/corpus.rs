//! The malformed-input corpus (tests/corpus/*.jsonl, described in
//! tests/corpus/README.md): every case is sent to the real binaries and
//! must get the answer written in it (status or gRPC code or exit code,
//! and a fragment of the message). One server takes all the REST and gRPC
//! cases and must still be alive and answering afterwards: no case may
//! panic it or hang (each has a deadline).
mod corpus_support;

use std::time::Duration;

use corpus_support::cases::{Case, load, request_of};
use corpus_support::grpc::{self, GrpcAnswer};
use corpus_support::process::{self, ExitAnswer};
use corpus_support::wire::{self, WireAnswer};
use infergate_tests::{Server, scratch_dir};
use serde_json::Value;

/// A case's deadline: far above any right answer, far below a hang.
const CASE_DEADLINE: Duration = Duration::from_secs(10);

#[derive(Debug)]
enum Answer {
    Wire(WireAnswer),
    Grpc(GrpcAnswer),
    Exit(ExitAnswer),
    #[allow(dead_code)] // printed in failures
    Failed(String),
}

async fn answer(case: &Case, s: &Server) -> Answer {
    let v = &case.v;
    let work = async {
        match case.kind.as_str() {
            "grpc" => {
                let msg = grpc::message_bytes(v);
                // The 5-byte prefix: as given, or a flag byte and the length
                // (plus `prefix_len_extra`, to lie about it).
                let mut frame = match v.get("prefix_hex").and_then(Value::as_str) {
                    Some(p) => grpc::hex(p),
                    None => {
                        let flag = v.get("prefix_flag").and_then(Value::as_u64).unwrap_or(0);
                        let extra = v
                            .get("prefix_len_extra")
                            .and_then(Value::as_u64)
                            .unwrap_or(0);
                        let mut p = vec![flag as u8];
                        p.extend_from_slice(&((msg.len() as u64 + extra) as u32).to_be_bytes());
                        p
                    }
                };
                frame.extend(msg);
                let rpc = v.get("rpc").and_then(Value::as_str).unwrap_or("ModelInfer");
                match grpc::call(s.grpc.unwrap(), rpc, frame).await {
                    Ok(a) => Answer::Grpc(a),
                    Err(e) => Answer::Failed(e),
                }
            }
            _ => {
                let (bytes, shutdown) = request_of(v);
                match wire::exchange(s.http, &bytes, shutdown).await {
                    Ok(a) => Answer::Wire(a),
                    Err(e) => Answer::Failed(e.to_string()),
                }
            }
        }
    };
    tokio::time::timeout(CASE_DEADLINE, work)
        .await
        .unwrap_or_else(|_| Answer::Failed("no answer before the deadline (a hang)".into()))
}

fn contains(hay: &str, needle: &str) -> bool {
    hay.to_lowercase().contains(&needle.to_lowercase())
}

/// Why `got` is not what the case expects, if it is not.
fn mismatch(case: &Case, got: &Answer) -> Option<String> {
    let e = &case.v["expect"];
    let frag = |k: &str| e.get(k).and_then(Value::as_str);
    let ok = match got {
        Answer::Wire(w) => {
            let allowed: Vec<Value> = match &e["status"] {
                Value::Array(a) => a.clone(),
                one => vec![one.clone()],
            };
            match w {
                WireAnswer::Closed => allowed.contains(&Value::from("closed")),
                WireAnswer::Response { status, body } => {
                    allowed.contains(&Value::from(*status))
                        && frag("error")
                            .is_none_or(|f| kserve_error(body).is_some_and(|m| contains(&m, f)))
                        && frag("body").is_none_or(|f| contains(body, f))
                }
            }
        }
        Answer::Grpc(g) => {
            let codes: Vec<Value> = match &e["code"] {
                Value::Array(a) => a.clone(),
                one => vec![one.clone()],
            };
            codes
                .iter()
                .any(|c| c.as_str().and_then(grpc::code_number) == Some(g.code))
                && frag("message").is_none_or(|f| contains(&g.message, f))
        }
        Answer::Exit(ExitAnswer::Exited { code, stderr }) => {
            e.get("exit")
                .is_none_or(|x| x.as_i64().map(|x| x as i32) == *code)
                && *code != Some(0)
                && frag("stderr").is_none_or(|f| contains(stderr, f))
                && !contains(stderr, "panicked")
        }
        Answer::Exit(ExitAnswer::StillRunning) | Answer::Failed(_) => false,
    };
    (!ok).then(|| format!("{}: expected {e}, got {got:?}", case.name()))
}

/// The message of a KServe error body (`{"error": "..."}` and nothing else).
fn kserve_error(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    let o = v.as_object()?;
    (o.len() == 1).then(|| o.get("error")?.as_str().map(str::to_string))?
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_corpus_case_gets_its_answer_and_the_server_survives() {
    let cases = load();
    assert!(cases.len() >= 200, "the corpus has {} cases", cases.len());
    let print = std::env::var_os("CORPUS_PRINT").is_some();
    let s = Server::infergate(&["--builtin_models", "simple,echo"]);
    let mut failures = Vec::new();
    for case in cases.iter().filter(|c| c.kind != "cli") {
        let got = answer(case, &s).await;
        if print {
            eprintln!("{} => {got:?}", case.name());
        }
        failures.extend(mismatch(case, &got));
    }
    // The command-line cases run a few processes at a time.
    let cli: Vec<&Case> = cases.iter().filter(|c| c.kind == "cli").collect();
    let root = scratch_dir("corpus");
    let results: Vec<(usize, Answer)> = std::thread::scope(|scope| {
        let handles: Vec<_> = cli
            .chunks(cli.len().div_ceil(4).max(1))
            .enumerate()
            .map(|(t, chunk)| {
                let root = &root;
                scope.spawn(move || {
                    chunk
                        .iter()
                        .enumerate()
                        .map(|(i, c)| {
                            let dir = root.join(format!("{t}-{i}"));
                            (t * 1000 + i, Answer::Exit(process::run(&c.v, &dir)))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let per = cli.len().div_ceil(4).max(1);
    for (key, got) in results {
        let case = cli[(key / 1000) * per + key % 1000];
        if print {
            eprintln!("{} => {got:?}", case.name());
        }
        failures.extend(mismatch(case, &got));
    }
    let live = wire::exchange(
        s.http,
        b"GET /v2/health/live HTTP/1.1\r\nhost: corpus\r\n\r\n",
        false,
    )
    .await;
    assert!(
        matches!(live, Ok(WireAnswer::Response { status: 200, .. })),
        "the server is not live after the corpus: {live:?}\n{}",
        s.logs()
    );
    assert!(
        !s.logs().contains("panicked"),
        "a panic in the log:\n{}",
        s.logs()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
