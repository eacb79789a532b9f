//! Mirroring: a copy of a fraction of a route's REST requests goes to a
//! shadow pool once the primary answer is done; the shadow's answer is read
//! and discarded. The copy is sent from its own task after the request ends,
//! so the shadow can never delay or fail the primary.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use pingora::connectors::http::Connector;
use pingora::http::RequestHeader;
use pingora::upstreams::peer::HttpPeer;

use crate::config::MirrorConfig;
use crate::pool::Pool;

pub struct Mirror {
    pub pool: Arc<Pool>,
    pub fraction: f64,
    pub max_body_bytes: usize,
}

impl Mirror {
    pub fn new(cfg: &MirrorConfig, pool: Arc<Pool>) -> Mirror {
        Mirror {
            pool,
            fraction: cfg.fraction,
            max_body_bytes: cfg.max_body_bytes,
        }
    }

    /// Whether this request is one of the mirrored fraction.
    pub fn sample(&self) -> bool {
        fastrand::f64() < self.fraction
    }
}

/// A request being copied for the shadow while the primary streams it.
pub struct MirrorCopy {
    pub mirror: Arc<Mirror>,
    pub header: RequestHeader,
    body: BytesMut,
    /// Downstream body bytes already copied (retries re-send old bytes).
    copied: usize,
    too_large: bool,
}

impl MirrorCopy {
    pub fn new(mirror: Arc<Mirror>, header: RequestHeader) -> MirrorCopy {
        MirrorCopy {
            mirror,
            header,
            body: BytesMut::new(),
            copied: 0,
            too_large: false,
        }
    }

    /// Adds `chunk` when the downstream has read new bytes (`read_total`).
    pub fn add(&mut self, chunk: &[u8], read_total: usize) {
        if read_total <= self.copied || self.too_large {
            return;
        }
        self.copied = read_total;
        if self.body.len() + chunk.len() > self.mirror.max_body_bytes {
            self.too_large = true;
            self.body = BytesMut::new();
            return;
        }
        self.body.extend_from_slice(chunk);
    }

    /// Sends the copy to a backend of the shadow pool from a task of its
    /// own; the answer is drained and dropped, failures only logged.
    pub fn send(self, connector: Arc<Connector>, timeout: Duration) {
        if self.too_large {
            return;
        }
        let Some(backend) = self.mirror.pool.pick(None, &[]) else {
            return;
        };
        let addr = backend.addr;
        let body = self.body.freeze();
        let mut header = self.header;
        let _ = header.insert_header("content-length", body.len().to_string());
        header.remove_header("transfer-encoding");
        tokio::spawn(async move {
            let mut peer = HttpPeer::new(addr, false, String::new());
            peer.options.connection_timeout = Some(timeout);
            peer.options.read_timeout = Some(timeout);
            if let Err(e) = exchange(&connector, &peer, header, body).await {
                tracing::debug!(shadow = %addr, "mirrored request failed: {e}");
            }
        });
    }
}

async fn exchange(
    connector: &Connector,
    peer: &HttpPeer,
    header: RequestHeader,
    body: Bytes,
) -> pingora::Result<()> {
    let (mut session, _) = connector.get_http_session(peer).await?;
    session.write_request_header(Box::new(header)).await?;
    if !body.is_empty() {
        session.write_request_body(body, true).await?;
    }
    session.finish_request_body().await?;
    session.read_response_header().await?;
    while session.read_response_body().await?.is_some() {}
    connector
        .release_http_session(session, peer, Some(Duration::from_secs(60)))
        .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PoolConfig;

    fn copy(max: usize) -> MirrorCopy {
        let cfg: PoolConfig = toml::from_str("backends = [\"127.0.0.1:1\"]").expect("pool");
        let pool = Arc::new(Pool::new("shadow", &cfg).expect("pool"));
        let mirror = Arc::new(Mirror {
            pool,
            fraction: 1.0,
            max_body_bytes: max,
        });
        MirrorCopy::new(
            mirror,
            RequestHeader::build("POST", b"/", None).expect("header"),
        )
    }

    #[test]
    fn copies_each_downstream_byte_once() {
        let mut c = copy(100);
        c.add(b"abc", 3);
        c.add(b"abc", 3); // a retry re-sends the retry buffer
        c.add(b"de", 5);
        assert_eq!(&c.body[..], b"abcde");
    }

    #[test]
    fn a_body_over_the_limit_is_not_mirrored() {
        let mut c = copy(4);
        c.add(b"abc", 3);
        c.add(b"de", 5);
        assert!(c.too_large);
        assert!(c.body.is_empty());
    }
}
