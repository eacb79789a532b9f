//! infergate proxy routes by model name (V1 and V2 paths, gRPC's first
//! field), by header and path prefix, rewrites aliases, and answers its own
//! errors as KServe does; real mock backends and a real infergate behind it.

mod proxy_support;

use infergate_proto::grpc::pb::*;
use infergate_tests::{Http, Server};
use proxy_support::{Proxy, grpc, grpc_client, mock_requests, rest, v1_predict};
use tonic::Code;

fn infer_request(model: &str) -> ModelInferRequest {
    ModelInferRequest {
        model_name: model.into(),
        inputs: vec![model_infer_request::InferInputTensor {
            name: "INPUT0".into(),
            datatype: "FP32".into(),
            shape: vec![1, 2],
            contents: Some(InferTensorContents {
                fp32_contents: vec![1.0, 2.0],
                ..Default::default()
            }),
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[tokio::test]
async fn routes_v1_v2_and_grpc_by_model_name() {
    let (a, b) = (Server::mock(&[]), Server::mock(&[]));
    let proxy = Proxy::start(
        "proxy_routes_by_model",
        &format!(
            r#"
[pools.a]
backends = ["{}"]
[pools.a-grpc]
backends = ["{}"]
[pools.b]
backends = ["{}"]
[pools.b-grpc]
backends = ["{}"]
[[routes]]
name = "a"
models = ["model-a"]
pool = "a"
grpc_pool = "a-grpc"
[[routes]]
name = "b"
models = ["model-b"]
pool = "b"
grpc_pool = "b-grpc"
"#,
            rest(&a),
            grpc(&a),
            rest(&b),
            grpc(&b)
        ),
    );
    let http = Http::default();
    for _ in 0..3 {
        let r = v1_predict(&http, &proxy.url("/v1/models/model-a:predict"), &[]).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let v2 = serde_json::json!({"inputs": [{"name": "INPUT0", "shape": [1, 2], "datatype": "FP32", "data": [1.0, 2.0]}]});
    for _ in 0..2 {
        let r = http
            .post_json(&proxy.url("/v2/models/model-b/versions/1/infer"), &v2)
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let mut client = grpc_client(&proxy).await;
    for _ in 0..4 {
        let r = client
            .model_infer(infer_request("model-a"))
            .await
            .expect("gRPC infer through the proxy");
        assert_eq!(r.get_ref().outputs.len(), 1);
    }
    client
        .model_infer(infer_request("model-b"))
        .await
        .expect("gRPC infer to b");
    assert_eq!(mock_requests(&http, &a).await, 3 + 4);
    assert_eq!(mock_requests(&http, &b).await, 2 + 1);

    // No route: KServe's JSON error and gRPC NOT_FOUND, never HTML.
    let r = v1_predict(&http, &proxy.url("/v1/models/other:predict"), &[]).await;
    assert_eq!(r.status, 404);
    assert!(r.error().contains("\"other\""), "{}", r.text());
    let e = client
        .model_infer(infer_request("other"))
        .await
        .expect_err("no route");
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
}

#[tokio::test]
async fn header_path_prefix_and_default_routes() {
    let (a, b, c) = (Server::mock(&[]), Server::mock(&[]), Server::mock(&[]));
    let proxy = Proxy::start(
        "proxy_header_prefix_default",
        &format!(
            r#"
[pools.a]
backends = ["{}"]
[pools.b]
backends = ["{}"]
[pools.c]
backends = ["{}"]
[[routes]]
name = "tenant"
header = {{ name = "x-tenant", value = "acme" }}
pool = "a"
[[routes]]
name = "v2"
path_prefix = "/v2/"
pool = "b"
[[routes]]
name = "default"
pool = "c"
"#,
            rest(&a),
            rest(&b),
            rest(&c)
        ),
    );
    let http = Http::default();
    let tenant = [("x-tenant", "acme")];
    assert_eq!(
        v1_predict(&http, &proxy.url("/v1/models/m:predict"), &tenant)
            .await
            .status,
        200
    );
    let v2 = serde_json::json!({"inputs": [{"name": "INPUT0", "shape": [1], "datatype": "FP32", "data": [1.0]}]});
    assert_eq!(
        http.post_json(&proxy.url("/v2/models/m/infer"), &v2)
            .await
            .status,
        200
    );
    assert_eq!(
        v1_predict(&http, &proxy.url("/v1/models/m:predict"), &[])
            .await
            .status,
        200
    );
    let counts = [
        mock_requests(&http, &a).await,
        mock_requests(&http, &b).await,
        mock_requests(&http, &c).await,
    ];
    assert_eq!(counts, [1, 1, 1]);
}

#[tokio::test]
async fn aliases_rewrite_the_path_and_the_grpc_field() {
    let up = Server::infergate(&["--builtin_models", "simple,echo"]);
    let proxy = Proxy::start(
        "proxy_aliases",
        &format!(
            r#"
[pools.rest]
backends = ["{}"]
[pools.grpc]
backends = ["{}"]
[[routes]]
name = "alias"
models = ["my-echo"]
aliases = {{ my-echo = "echo" }}
pool = "rest"
grpc_pool = "grpc"
"#,
            rest(&up),
            grpc(&up)
        ),
    );
    let http = Http::default();
    let r = http.get(&proxy.url("/v2/models/my-echo")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["name"], "echo");
    let mut client = grpc_client(&proxy).await;
    let meta = client
        .model_metadata(ModelMetadataRequest {
            name: "my-echo".into(),
            version: String::new(),
        })
        .await
        .expect("metadata through the alias");
    assert_eq!(meta.get_ref().name, "echo");
    let ready = client
        .model_ready(ModelReadyRequest {
            name: "my-echo".into(),
            version: String::new(),
        })
        .await
        .expect("ready through the alias");
    assert!(ready.get_ref().ready);
}

#[tokio::test]
async fn request_ids_are_made_or_kept() {
    let up = Server::infergate(&["--builtin_models", "simple,echo"]);
    let proxy = Proxy::start(
        "proxy_request_ids",
        &format!(
            "[pools.p]\nbackends = [\"{}\"]\n[[routes]]\nname = \"all\"\npool = \"p\"\n",
            rest(&up)
        ),
    );
    let http = Http::default();
    let r = http.get(&proxy.url("/v2/models/echo")).await;
    assert_eq!(r.status, 200);
    let made = r.header("x-request-id").expect("a request id is made");
    assert_eq!(made.len(), 32);
    let r = http
        .send(
            http::Method::GET,
            &proxy.url("/v2/models/echo"),
            &[
                ("x-request-id", "client-id-1"),
                ("connection", "keep-alive"),
            ],
            bytes::Bytes::new(),
        )
        .await;
    assert_eq!(r.header("x-request-id"), Some("client-id-1"));
}

/// A one-shot HTTP/1.1 upstream: returns the request head it received.
async fn capture_one_request() -> (String, tokio::task::JoinHandle<String>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let task = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.expect("accept");
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = sock.read(&mut buf).await.expect("read");
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        let body = b"{\"ok\": true}";
        let reply = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        sock.write_all(reply.as_bytes()).await.expect("write");
        sock.write_all(body).await.expect("write");
        String::from_utf8_lossy(&head).to_lowercase()
    });
    (addr, task)
}

#[tokio::test]
async fn headers_sent_upstream_keep_traceparent_add_ids_and_drop_hop_by_hop() {
    let (upstream, head) = capture_one_request().await;
    let proxy = Proxy::start(
        "proxy_headers",
        &format!(
            "[pools.p]\nbackends = [\"{upstream}\"]\n[[routes]]\nname = \"all\"\npool = \"p\"\n"
        ),
    );
    let http = Http::default();
    let r = http
        .send(
            http::Method::GET,
            &proxy.url("/v2/models/m"),
            &[
                (
                    "traceparent",
                    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                ),
                ("x-forwarded-for", "10.1.2.3"),
                ("connection", "keep-alive, x-private"),
                ("x-private", "secret"),
                ("proxy-authorization", "Basic Zm9v"),
            ],
            bytes::Bytes::new(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let id = r.header("x-request-id").expect("request id").to_lowercase();
    let head = head.await.expect("upstream saw the request");
    assert!(
        head.contains("traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        "{head}"
    );
    assert!(head.contains(&format!("x-request-id: {id}")), "{head}");
    assert!(
        head.contains("x-forwarded-for: 10.1.2.3, 127.0.0.1"),
        "{head}"
    );
    assert!(!head.contains("x-private"), "{head}");
    assert!(!head.contains("proxy-authorization"), "{head}");
}

#[tokio::test]
async fn a_kserve_python_predictor_and_infergate_behind_one_proxy() {
    let Some(kserve) = infergate_tests::KservePredictor::start() else {
        return;
    };
    let ig = Server::infergate(&["--builtin_models", "simple,echo"]);
    let proxy = Proxy::start(
        "proxy_kserve_and_infergate",
        &format!(
            r#"
[pools.kserve]
backends = ["{}"]
[pools.kserve-grpc]
backends = ["127.0.0.1:{}"]
[pools.infergate]
backends = ["{}"]
[pools.infergate-grpc]
backends = ["{}"]
[[routes]]
name = "iris"
models = ["sklearn-iris"]
pool = "kserve"
grpc_pool = "kserve-grpc"
[[routes]]
name = "default"
pool = "infergate"
grpc_pool = "infergate-grpc"
"#,
            kserve.host(),
            kserve.grpc_port,
            rest(&ig),
            grpc(&ig)
        ),
    );
    let http = Http::default();
    let r = http
        .send(
            http::Method::POST,
            &proxy.url("/v1/models/sklearn-iris:predict"),
            &[("content-type", "application/json")],
            r#"{"instances": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]}"#,
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.text()),
        (200, r#"{"predictions":[1,1]}"#.into())
    );
    let r = http.get(&proxy.url("/v2/models/simple")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["name"], "simple");
    let mut client = grpc_client(&proxy).await;
    for model in ["sklearn-iris", "echo"] {
        let ready = client
            .model_ready(ModelReadyRequest {
                name: model.into(),
                version: String::new(),
            })
            .await
            .unwrap_or_else(|e| panic!("{model} through the proxy: {e:?}"));
        assert!(ready.get_ref().ready, "{model}");
    }
}
