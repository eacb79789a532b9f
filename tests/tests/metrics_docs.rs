//! docs/metrics.md is the list of every series: a predictor (with a batched
//! model) and a transformer in front of it (that retried once) serve exactly
//! the series the document lists for their role, with the labels it lists.
use std::collections::{BTreeMap, BTreeSet};

use infergate_tests::{
    Http, Server, bin, copy_dir, example_models, free_port, scratch_dir, workspace_root,
};

/// Series name -> label names, as a /metrics page has them (infergate's
/// and KServe's series only; `le` and `quantile` are bucket labels).
fn page_series(page: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut types = BTreeMap::new();
    for line in page.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split_whitespace();
            if let (Some(name), Some(kind)) = (parts.next(), parts.next()) {
                types.insert(name.to_string(), kind.to_string());
            }
        }
    }
    let mut series: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in page
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (head, labels) = match line.split_once('{') {
            Some((head, rest)) => (head, rest.split_once('}').map_or("", |(l, _)| l)),
            None => (line.split_whitespace().next().unwrap_or(""), ""),
        };
        let name = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                head.strip_suffix(s)
                    .filter(|base| types.get(*base).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(head);
        if !(name.starts_with("infergate_") || name.starts_with("request_")) {
            continue;
        }
        let keys = series.entry(name.to_string()).or_default();
        for pair in labels.split("\",").filter(|p| !p.is_empty()) {
            let key = pair.split('=').next().unwrap_or("").trim();
            if key != "le" && key != "quantile" {
                keys.insert(key.to_string());
            }
        }
    }
    series
}

/// Series name -> label names for `role`, from the tables of docs/metrics.md
/// (rows: | `name` | type | `label`, ... | roles | meaning |).
fn documented(role: &str) -> BTreeMap<String, BTreeSet<String>> {
    let doc =
        std::fs::read_to_string(workspace_root().join("docs/metrics.md")).expect("docs/metrics.md");
    let mut out = BTreeMap::new();
    for line in doc.lines().filter(|l| l.starts_with("| `")) {
        let cols: Vec<&str> = line.split('|').map(str::trim).collect();
        let (name, labels, roles) = (cols[1], cols[3], cols[4]);
        if !roles.split(',').any(|r| r.trim() == role) {
            continue;
        }
        let labels = labels
            .split(',')
            .map(|l| l.trim().trim_matches('`').to_string())
            .filter(|l| !l.is_empty() && l != "-")
            .collect();
        out.insert(name.trim_matches('`').to_string(), labels);
    }
    out
}

#[tokio::test]
async fn metrics_pages_list_exactly_the_documented_series() {
    let repo = scratch_dir("metrics-docs");
    copy_dir(
        &example_models().join("sklearn-iris"),
        &repo.join("sklearn-iris"),
    );
    std::fs::write(
        repo.join("sklearn-iris/config.toml"),
        "max_batch_size = 8\n[dynamic_batching]\nmax_queue_delay_microseconds = 100\n",
    )
    .unwrap();
    let port = free_port().to_string();
    let host = format!("127.0.0.1:{port}");
    let transformer = Server::infergate(&[
        "--model_name",
        "sklearn-iris",
        "--predictor_host",
        &host,
        "--predictor_protocol",
        "v1",
        "--predictor_request_retries",
        "1",
        // Batched, so that the page has every series a transformer can serve.
        "--enable-batcher",
        "--max-latency",
        "1",
    ]);
    let h = Http::default();
    // The predictor is not up yet: refused, retried once, 503.
    let r = h.predict_seed(&transformer, "sklearn-iris").await;
    assert_eq!(r.status, 503, "{}", r.text());
    let predictor = Server::spawn(
        &bin("infergate-predictor"),
        &[
            "--bind_address",
            "127.0.0.1",
            "--http_port",
            &port,
            "--grpc_port",
            "0",
            "--model_dir",
            repo.to_str().unwrap(),
        ],
        &[],
    );
    let r = h.predict_seed(&transformer, "sklearn-iris").await;
    assert_eq!(r.status, 200, "{}", r.text());

    for (role, server) in [("predictor", &predictor), ("transformer", &transformer)] {
        let page = h.get(&server.url("/metrics")).await.text();
        let served = page_series(&page);
        let listed = documented(role);
        assert!(
            !listed.is_empty(),
            "docs/metrics.md lists nothing for {role}"
        );
        assert_eq!(
            served.keys().collect::<Vec<_>>(),
            listed.keys().collect::<Vec<_>>(),
            "{role}: /metrics and docs/metrics.md differ; the page:\n{page}"
        );
        for (name, labels) in &served {
            assert_eq!(labels, &listed[name], "{role}: labels of {name}");
        }
    }
}
