//! How gRPC requests are taken in, before tonic sees them:
//! * every request counts as in flight on its connection until its answer's
//!   body ends (`conn::Tracked` closes connections idle past their limit);
//! * an inference message is read whole first, within
//!   --grpc_max_receive_message_length (RESOURCE_EXHAUSTED beyond it, as
//!   soon as its 5-byte prefix says so), within --body_read_timeout_seconds
//!   (DEADLINE_EXCEEDED), and within a budget of unfinished bytes per
//!   connection. Memory grows only as bytes arrive: tonic reserves a
//!   message's declared length on reading its prefix, so a stream that
//!   promises 8 MB and sends one byte used to pin 8 MB.
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use http::{Request, Response};
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::BodyExt;
use tonic::Status;
use tonic::body::Body;
use tonic::server::NamedService;

use crate::conn::{ConnActivity, InFlight};
use crate::grpc::GrpcSettings;

/// Wraps every gRPC service so that its requests count on their connection.
#[derive(Clone, Copy)]
pub struct CountInFlightLayer;

impl<S> tower::Layer<S> for CountInFlightLayer {
    type Service = CountInFlight<S>;
    fn layer(&self, inner: S) -> CountInFlight<S> {
        CountInFlight { inner }
    }
}

#[derive(Clone)]
pub struct CountInFlight<S> {
    inner: S,
}

impl<S, B, R> tower::Service<Request<B>> for CountInFlight<S>
where
    S: tower::Service<Request<B>, Response = Response<R>>,
    S::Future: Send + 'static,
    R: HttpBody + Unpin,
{
    type Response = Response<Counted<R, Option<InFlight>>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let guard = req.extensions().get::<ConnActivity>().map(|a| a.0.begin());
        let answer = self.inner.call(req);
        Box::pin(async move {
            let resp = answer.await?;
            Ok(resp.map(|body| Counted {
                body,
                _guard: guard,
            }))
        })
    }
}

/// An answer's body that keeps its request counted (by the guard `G`)
/// until it ends: a health watch stays in flight as long as it streams.
pub struct Counted<B, G> {
    body: B,
    _guard: G,
}

impl<B: HttpBody + Unpin, G: Unpin> HttpBody for Counted<B, G> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The inference service, given each request's message whole.
#[derive(Clone)]
pub struct WholeMessages<S> {
    inner: S,
    settings: Arc<GrpcSettings>,
    in_flight: Arc<AtomicUsize>,
}

impl<S> WholeMessages<S> {
    /// `in_flight` counts inference requests until their answers end (the
    /// drain waits for it to reach zero).
    pub fn new(inner: S, settings: GrpcSettings, in_flight: Arc<AtomicUsize>) -> Self {
        WholeMessages {
            inner,
            settings: Arc::new(settings),
            in_flight,
        }
    }
}

/// One inference request in flight on the server.
struct ServerInFlight(Arc<AtomicUsize>);

impl ServerInFlight {
    fn begin(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::AcqRel);
        ServerInFlight(count.clone())
    }
}

impl Drop for ServerInFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl<S: NamedService> NamedService for WholeMessages<S> {
    const NAME: &'static str = S::NAME;
}

impl<S> tower::Service<Request<Body>> for WholeMessages<S>
where
    S: tower::Service<Request<Body>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        // The clone that was made ready serves this call; the fresh one
        // stays for the next (tower's rule for cloned services).
        let fresh = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, fresh);
        let settings = self.settings.clone();
        let counted = ServerInFlight::begin(&self.in_flight);
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let budget = parts
                .extensions
                .get::<ConnActivity>()
                .map(|a| a.0.buffer_budget());
            match read_whole(body, &settings, budget).await {
                Ok((message, held)) => {
                    let req =
                        Request::from_parts(parts, Body::new(http_body_util::Full::new(message)));
                    let answer = inner.call(req).await;
                    drop(held);
                    answer.map(|resp| {
                        resp.map(|body| {
                            Body::new(Counted {
                                body,
                                _guard: counted,
                            })
                        })
                    })
                }
                Err(status) => Ok(status.into_http()),
            }
        })
    }
}

/// Bytes of unfinished request messages, shared by one connection's streams.
#[derive(Clone)]
pub struct BufferBudget {
    used: Arc<AtomicUsize>,
}

impl BufferBudget {
    pub fn new(used: Arc<AtomicUsize>) -> Self {
        BufferBudget { used }
    }
}

/// Bytes taken from a budget, given back on drop.
pub struct Held {
    budget: Option<BufferBudget>,
    bytes: usize,
}

impl Held {
    fn take(&mut self, n: usize, limit: usize) -> Result<(), Status> {
        let Some(budget) = &self.budget else {
            return Ok(());
        };
        // Taken only if it fits: a refused frame never counts, even for a
        // moment, against the other streams of the connection.
        let fits = budget
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                (used + n <= limit).then_some(used + n)
            })
            .is_ok();
        if !fits {
            return Err(Status::resource_exhausted(format!(
                "this connection holds more than {limit} bytes of unfinished requests \
                 (--grpc_max_connection_buffer_bytes)"
            )));
        }
        self.bytes += n;
        Ok(())
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(budget) = &self.budget {
            budget.used.fetch_sub(self.bytes, Ordering::AcqRel);
        }
    }
}

/// Length of the gRPC message prefix: a compression flag and a u32 length.
const PREFIX: usize = 5;

/// The request body whole, or the status that refuses it.
async fn read_whole(
    mut body: Body,
    settings: &GrpcSettings,
    budget: Option<BufferBudget>,
) -> Result<(Bytes, Held), Status> {
    let max = settings.max_receive_message_length;
    let mut held = Held { budget, bytes: 0 };
    let too_large = |len: usize| {
        Status::resource_exhausted(format!(
            "received message of {len} bytes is larger than the limit of {max} bytes \
             (--grpc_max_receive_message_length)"
        ))
    };
    let deadline = tokio::time::sleep(settings.body_read_timeout);
    tokio::pin!(deadline);
    // A body in one frame (the usual case) is passed on without a copy.
    let mut first: Option<Bytes> = None;
    let mut rest = BytesMut::new();
    loop {
        let frame = tokio::select! {
            frame = body.frame() => frame,
            () = &mut deadline => {
                return Err(Status::deadline_exceeded(format!(
                    "the request message did not arrive within {:?} (--body_read_timeout_seconds)",
                    settings.body_read_timeout
                )));
            }
        };
        let data = match frame {
            None => break,
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => data,
                Err(_) => continue,
            },
            Some(Err(e)) => return Err(Status::cancelled(format!("request body: {e}"))),
        };
        let so_far = first.as_ref().map_or(0, Bytes::len) + rest.len();
        if so_far + data.len() > max + PREFIX {
            return Err(too_large(
                so_far + data.len() - PREFIX.min(so_far + data.len()),
            ));
        }
        held.take(data.len(), settings.connection_buffer)?;
        match first.take() {
            None if rest.is_empty() => first = Some(data),
            None => rest.extend_from_slice(&data),
            Some(f) => {
                rest.reserve(f.len() + data.len());
                rest.extend_from_slice(&f);
                rest.extend_from_slice(&data);
            }
        }
        // The prefix tells the message's length: refuse a large one now.
        let head = first.as_deref().unwrap_or(&rest[..]);
        if head.len() >= PREFIX {
            let declared = (&head[1..PREFIX]).get_u32() as usize;
            if declared > max {
                return Err(too_large(declared));
            }
        }
    }
    Ok((first.unwrap_or_else(|| rest.freeze()), held))
}
