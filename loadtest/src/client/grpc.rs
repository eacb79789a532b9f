//! gRPC `ModelInfer` through tonic. The request is protobuf-encoded once up
//! front and sent as those bytes by a pass-through codec; the answer is
//! skipped (or decoded with `--validate`), so the generator spends nothing on
//! protobuf per request. The generated client serves metadata look-ups.
use std::sync::Arc;

use bytes::{Buf, BufMut, Bytes};
use http::uri::PathAndQuery;
use hyper_util::rt::TokioIo;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Channel;
use tonic::{Code, Status};

use super::{BodyCursor, Dialer, Endpoint, validate};
use crate::outcome::Outcome;

const MODEL_INFER: &str = "/inference.GRPCInferenceService/ModelInfer";

/// A channel whose connections come from `dialer` (plain or TLS).
pub async fn channel(dialer: &Dialer) -> Result<Channel, String> {
    let dialer = dialer.clone();
    // The scheme is only a formality: the connector decides about TLS.
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{}", dialer.authority))
        .map_err(|e| e.to_string())?;
    endpoint
        .connect_with_connector(tower::service_fn(move |_| {
            let dialer = dialer.clone();
            async move { dialer.connect().await.map(TokioIo::new) }
        }))
        .await
        .map_err(|e| {
            format!(
                "{e}: {}",
                std::error::Error::source(&e)
                    .map(|s| s.to_string())
                    .unwrap_or_default()
            )
        })
}

/// Sends pre-encoded bytes; reads the answer as bytes only when asked to.
#[derive(Clone, Copy)]
struct RawCodec {
    keep: bool,
}

struct RawEncoder;
struct RawDecoder {
    keep: bool,
}

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }

    fn decoder(&mut self) -> RawDecoder {
        RawDecoder { keep: self.keep }
    }
}

impl Encoder for RawEncoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawDecoder {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        let n = src.remaining();
        if self.keep {
            Ok(Some(src.copy_to_bytes(n)))
        } else {
            src.advance(n);
            Ok(Some(Bytes::new()))
        }
    }
}

pub struct GrpcConn {
    ep: Arc<Endpoint>,
    client: tonic::client::Grpc<Channel>,
    path: PathAndQuery,
    cursor: BodyCursor,
}

impl GrpcConn {
    pub fn new(ep: Arc<Endpoint>, channel: Channel, cursor: BodyCursor) -> Self {
        GrpcConn {
            ep,
            cursor,
            client: tonic::client::Grpc::new(channel),
            path: PathAndQuery::from_static(MODEL_INFER),
        }
    }

    pub async fn call(&mut self) -> Outcome {
        if self.client.ready().await.is_err() {
            return Outcome::Connect;
        }
        let body = self.cursor.next(&self.ep).bytes.clone();
        let mut req = tonic::Request::new(body);
        for (k, v) in &self.ep.headers {
            if let Ok(v) = tonic::metadata::MetadataValue::try_from(v.as_bytes())
                && let Ok(k) = tonic::metadata::MetadataKey::from_bytes(k.as_str().as_bytes())
            {
                req.metadata_mut().insert(k, v);
            }
        }
        let codec = RawCodec {
            keep: self.ep.validate,
        };
        match self.client.unary(req, self.path.clone(), codec).await {
            Ok(resp) if self.ep.validate && !validate::grpc(resp.get_ref()) => Outcome::Invalid,
            Ok(_) => Outcome::Ok,
            Err(status) if status.code() == Code::Unavailable && is_transport(&status) => {
                Outcome::Io
            }
            Err(status) => Outcome::from_grpc(status.code()),
        }
    }
}

/// Whether an UNAVAILABLE came from the connection rather than the server.
fn is_transport(status: &Status) -> bool {
    std::error::Error::source(status).is_some()
}
