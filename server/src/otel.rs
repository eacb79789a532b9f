//! OpenTelemetry tracing: spans exported over OTLP/gRPC when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set (with `OTEL_SERVICE_NAME`,
//! `OTEL_TRACES_SAMPLER` / `_ARG` and the other standard variables), W3C
//! `traceparent` / `tracestate` read from REST headers and gRPC metadata and
//! written into upstream calls, so that one trace spans transformer ->
//! predictor.
//!
//! Spans use the target [`TARGET`], which only the exporter's layer enables:
//! with no endpoint set, creating one is a disabled-callsite check and
//! nothing else (docs/benchmarks.md, "Tracing").
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use http::HeaderMap;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::Layer;
use tracing_subscriber::registry::LookupSpan;

/// The target of every span this module's callers make.
pub const TARGET: &str = "infergate::trace";

static ENABLED: AtomicBool = AtomicBool::new(false);
static SAMPLING: OnceLock<Sampling> = OnceLock::new();

/// The head-sampling decision, made here when a request arrives rather than
/// by the SDK when spans end: a request left out then makes no span at all
/// (tracing-opentelemetry does its bookkeeping for every span, sampled or
/// not, which cost 38% of the throughput at a 1% ratio).
#[derive(Debug, Clone, Copy)]
struct Sampling {
    /// Share of new traces (no caller's context) that are recorded.
    ratio: f64,
    /// Whether a caller's sampled flag decides (the `parentbased_*` samplers
    /// and the default).
    parent_based: bool,
}

impl Sampling {
    /// From `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`, as the SDK
    /// reads them (default: parent-based, always on).
    fn from_env() -> Self {
        let sampler = std::env::var("OTEL_TRACES_SAMPLER")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let arg = std::env::var("OTEL_TRACES_SAMPLER_ARG")
            .ok()
            .and_then(|a| a.trim().parse::<f64>().ok())
            .map_or(1.0, |a| a.clamp(0.0, 1.0));
        let ratio = match sampler.as_str() {
            "always_off" | "parentbased_always_off" => 0.0,
            "traceidratio" | "parentbased_traceidratio" => arg,
            _ => 1.0,
        };
        let parent_based = sampler.is_empty() || sampler.starts_with("parentbased");
        Sampling {
            ratio,
            parent_based,
        }
    }

    fn records(&self, parent: &opentelemetry::trace::SpanContext) -> bool {
        if self.parent_based && parent.is_valid() {
            return parent.is_sampled();
        }
        self.ratio >= 1.0 || (self.ratio > 0.0 && fastrand::f64() < self.ratio)
    }
}
static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Whether spans are being exported.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Whether export is asked for: `OTEL_EXPORTER_OTLP_ENDPOINT` (or
/// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) set and `OTEL_SDK_DISABLED` not true.
pub fn configured() -> bool {
    let endpoint = [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()));
    let disabled = std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    endpoint && !disabled
}

/// The exporting layer, when [`configured`]. An exporter that cannot be
/// built is reported on stderr and tracing stays off: a missing collector
/// must not stop the server.
pub fn layer<S>() -> Option<impl Layer<S>>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    if !configured() {
        return None;
    }
    let provider = match build_provider() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("infergate: OpenTelemetry export is off: {e}");
            return None;
        }
    };
    let tracer = provider.tracer("infergate");
    let _ = PROVIDER.set(provider);
    ENABLED.store(true, Ordering::Relaxed);
    // The server's filter (cli::logging) lets [`TARGET`] through at info
    // exactly when this layer exists.
    Some(tracing_opentelemetry::layer().with_tracer(tracer))
}

/// The OTLP/gRPC exporter runs its channel on a small runtime of its own:
/// logging is set up before the server's runtime exists, and the batch
/// processor's thread needs a reactor to send on.
fn build_provider() -> Result<SdkTracerProvider, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let exporter = {
        let _entered = runtime.enter();
        opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .build()
            .map_err(|e| format!("OTLP exporter: {e}"))?
    };
    std::thread::Builder::new()
        .name("infergate-otlp".into())
        .spawn(move || runtime.block_on(std::future::pending::<()>()))
        .map_err(|e| format!("OTLP thread: {e}"))?;
    // The SDK reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES itself;
    // the sampler's decision is made in `request_span`, so every span that
    // reaches the SDK is kept.
    let _ = SAMPLING.set(Sampling::from_env());
    Ok(SdkTracerProvider::builder()
        .with_sampler(opentelemetry_sdk::trace::Sampler::AlwaysOn)
        .with_batch_exporter(exporter)
        .build())
}

/// Sends what is buffered (at exit).
pub fn shutdown() {
    if let Some(p) = PROVIDER.get() {
        let _ = p.force_flush();
    }
}

struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

struct HeadersMut<'a>(&'a mut HeaderMap);

impl Injector for HeadersMut<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(k), Ok(v)) = (
            http::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(k, v);
        }
    }
}

/// The span of one request, a child of the caller's `traceparent` when it
/// sent one. `status` is recorded when the answer is known.
pub fn request_span(
    protocol: &'static str,
    model: &str,
    request_id: &str,
    headers: &HeaderMap,
) -> Span {
    if !enabled() {
        return Span::none();
    }
    let parent = TraceContextPropagator::new().extract(&Headers(headers));
    let sampling = SAMPLING.get().copied().unwrap_or_else(Sampling::from_env);
    if !sampling.records(parent.span().span_context()) {
        return Span::none();
    }
    let span = tracing::info_span!(
        target: TARGET,
        "request",
        otel.name = %format_args!("{protocol} {model}"),
        otel.kind = "server",
        model = model,
        protocol = protocol,
        request_id = request_id,
        status = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    let _ = span.set_parent(parent);
    span
}

/// Records the answer's status on a request span (an error status marks it
/// failed).
pub fn record_status(span: &Span, status: &str, failed: bool) {
    span.record("status", status);
    if failed {
        span.record("otel.status_code", "ERROR");
    }
}

/// Writes the current span's context into an upstream call's headers (a
/// `traceparent` forwarded from the caller is replaced by our own span's, so
/// the upstream's spans hang under ours).
pub fn inject_current(headers: &mut HeaderMap) {
    if !enabled() {
        return;
    }
    let cx = Span::current().context();
    TraceContextPropagator::new().inject_context(&cx, &mut HeadersMut(headers));
}

/// Links `span` to `to` (a batch to each request it serves).
pub fn link(span: &Span, to: &Span) {
    if enabled() && !span.is_none() && !to.is_none() {
        span.add_link(to.context().span().span_context().clone());
    }
}

/// A step of a request (decode, preprocess, predict, postprocess, encode...)
/// as a child span of the current one; none when the request is not traced.
#[macro_export]
macro_rules! step_span {
    ($name:expr) => {
        if $crate::otel::enabled() && !tracing::Span::current().is_none() {
            tracing::info_span!(target: $crate::otel::TARGET, $name)
        } else {
            tracing::Span::none()
        }
    };
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

    use super::Sampling;

    fn parent(sampled: bool) -> SpanContext {
        let flags = if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        SpanContext::new(
            TraceId::from(7u128),
            SpanId::from(9u64),
            flags,
            true,
            TraceState::default(),
        )
    }

    #[test]
    fn head_sampling_follows_the_caller_or_the_ratio() {
        let parent_based = Sampling {
            ratio: 0.0,
            parent_based: true,
        };
        assert!(parent_based.records(&parent(true)));
        assert!(!parent_based.records(&parent(false)));
        assert!(!parent_based.records(&SpanContext::empty_context()));
        let all = Sampling {
            ratio: 1.0,
            parent_based: true,
        };
        assert!(all.records(&SpanContext::empty_context()));
        let tenth = Sampling {
            ratio: 0.1,
            parent_based: false,
        };
        let kept = (0..20_000).filter(|_| tenth.records(&parent(true))).count();
        assert!((1_500..2_500).contains(&kept), "{kept} of 20000 at 10%");
    }
}
