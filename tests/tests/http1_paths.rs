//! Both HTTP/1.1 paths under the same requests: every HTTP case of the
//! malformed-input corpus (tests/corpus: V1, V2 JSON, binary extension and
//! the raw wire cases: Content-Length with Transfer-Encoding, duplicate or
//! odd lengths, obs-fold, bare LF, NUL, pipelining, huge heads) is sent to
//! a server on the fast path (the default) and to one with
//! `--http1_fast_path false` (hyper alone); both must answer alike, status
//! and body, or both refuse (one closes, the other answers an error). The one case where
//! they refuse differently (docs/reliability.md): a body cut short by the
//! client's half-close gets a 400 from hyper and a close from the fast path.
mod corpus_support;

use corpus_support::cases::{load, request_of};
use corpus_support::wire::{self, WireAnswer};
use infergate_tests::Server;

/// What a path answered, for comparison: the status and body, or a close.
async fn answer(s: &Server, bytes: &[u8], shutdown: bool) -> String {
    let work = wire::exchange(s.http, bytes, shutdown);
    match tokio::time::timeout(std::time::Duration::from_secs(10), work).await {
        Ok(Ok(WireAnswer::Response { status, body })) => format!("{status} {body}"),
        Ok(Ok(WireAnswer::Closed)) => "closed".into(),
        Ok(Err(e)) => format!("error: {e}"),
        Err(_) => "no answer in 10 s".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fast_path_and_hyper_answer_every_http_case_alike() {
    let fast = Server::infergate(&["--builtin_models", "simple,echo"]);
    let hyper = Server::infergate(&[
        "--builtin_models",
        "simple,echo",
        "--http1_fast_path",
        "false",
    ]);
    let cases: Vec<_> = load().into_iter().filter(|c| c.kind == "http").collect();
    assert!(cases.len() > 150, "{} HTTP cases", cases.len());
    let mut differ = Vec::new();
    for case in &cases {
        let (bytes, shutdown) = request_of(&case.v);
        let (a, b) = (
            answer(&fast, &bytes, shutdown).await,
            answer(&hyper, &bytes, shutdown).await,
        );
        let refused = |x: &str| x == "closed" || x.starts_with('4') || x.starts_with('5');
        // Both refuse: one closes, the other answers an error.
        let both_refuse = (a == "closed" && refused(&b)) || (b == "closed" && refused(&a));
        if a != b && !both_refuse {
            let cut = |s: &str| s.chars().take(200).collect::<String>();
            differ.push(format!(
                "{}\n  fast:  {}\n  hyper: {}",
                case.name(),
                cut(&a),
                cut(&b)
            ));
        }
    }
    assert!(
        differ.is_empty(),
        "{} of {} cases answered differently:\n{}",
        differ.len(),
        cases.len(),
        differ.join("\n")
    );
}
