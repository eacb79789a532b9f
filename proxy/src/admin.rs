//! The admin port: `/metrics` (Prometheus), `/ready` (200 when every route
//! has a backend that may take requests, else 503 naming the routes
//! without one), `/live`.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use http::{Response, StatusCode};
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;

use crate::metrics::Metrics;
use crate::reload::Live;

pub struct Admin {
    pub live: Arc<Live>,
    pub metrics: Arc<Metrics>,
}

fn answer(status: StatusCode, content_type: &str, body: Vec<u8>) -> Response<Vec<u8>> {
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    if let Ok(v) = http::HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    let len = resp.body().len();
    resp.headers_mut()
        .insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(len));
    resp
}

fn json(status: StatusCode, value: serde_json::Value) -> Response<Vec<u8>> {
    answer(status, "application/json", value.to_string().into_bytes())
}

impl Admin {
    /// Routes with no backend that may take requests.
    pub fn unready_routes(&self) -> Vec<String> {
        self.live
            .router()
            .routes
            .iter()
            .filter(|r| !r.has_backend())
            .map(|r| r.name.clone())
            .collect()
    }

    /// Gauges read at scrape time from the pools' and routes' own state.
    fn refresh_gauges(&self) {
        let now = Instant::now();
        let router = self.live.router();
        for pool in &router.pools {
            for b in pool.members().backends.iter() {
                self.metrics
                    .backend_available
                    .with_label_values(&[&pool.name, &b.id])
                    .set(i64::from(pool.available(b, now)));
            }
        }
        for r in &router.routes {
            self.metrics
                .in_flight
                .with_label_values(&[&r.name])
                .set(r.in_flight.load(std::sync::atomic::Ordering::Relaxed) as i64);
        }
    }
}

#[async_trait]
impl ServeHttp for Admin {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        match session.req_header().uri.path() {
            "/metrics" => {
                self.refresh_gauges();
                answer(
                    StatusCode::OK,
                    "text/plain; version=0.0.4",
                    self.metrics.render(),
                )
            }
            "/ready" => {
                let unready = self.unready_routes();
                if unready.is_empty() {
                    json(StatusCode::OK, serde_json::json!({ "ready": true }))
                } else {
                    json(
                        StatusCode::SERVICE_UNAVAILABLE,
                        serde_json::json!({
                            "ready": false,
                            "error": format!("no healthy backend for routes: {}", unready.join(", ")),
                        }),
                    )
                }
            }
            "/live" => json(StatusCode::OK, serde_json::json!({ "live": true })),
            other => json(
                StatusCode::NOT_FOUND,
                serde_json::json!({ "error": format!("no admin endpoint {other}") }),
            ),
        }
    }
}
