//! From the command line to ready endpoints: parse the targets, read or
//! generate the payload (from each target's metadata), encode it once.
use std::sync::Arc;

use infergate_proto::TensorMetadata;

use crate::cli::RunArgs;
use crate::client::tls::TlsOptions;
use crate::client::{Endpoint, EndpointOptions, HttpVersion, http_version};
use crate::error::Result;
use crate::metadata;
use crate::payload::{self, GenerateSpec, Source};
use crate::report::TargetInfo;
use crate::target::{Protocol, TargetSpec};

pub struct Prepared {
    pub info: TargetInfo,
    pub endpoint: Arc<Endpoint>,
}

fn generate_spec(args: &RunArgs) -> GenerateSpec {
    GenerateSpec {
        inputs: args.inputs.clone(),
        shapes: args.shapes.clone(),
        datatypes: args.datatypes.clone(),
        batch_size: args.batch_size,
        string_length: args.string_length,
        seed: args.seed,
    }
}

/// The request for one target: the file, or tensors generated from the
/// model's metadata (only `--input` specs when metadata cannot be had).
async fn source_for(
    args: &RunArgs,
    file: Option<&Source>,
    spec: &TargetSpec,
    protocol: Protocol,
    tls: &TlsOptions,
) -> Result<(Source, Vec<TensorMetadata>)> {
    let version = args.model_version.as_deref();
    let wants_metadata = match file {
        None => true,
        // A V1 body sent as V2 takes tensor names and types from metadata.
        Some(Source::V1(_)) => protocol != Protocol::V1,
        Some(Source::V2(_)) => false,
    };
    let md = if wants_metadata {
        metadata::inputs(spec, protocol, &args.model, version, tls, &args.headers).await
    } else {
        Ok(Vec::new())
    };
    match file {
        Some(src) => Ok((src.clone(), md.unwrap_or_default())),
        None => {
            let md = match md {
                Ok(md) => md,
                Err(e) if !args.inputs.is_empty() => {
                    eprintln!("warning: {e}; generating from --input only");
                    Vec::new()
                }
                Err(e) => return Err(e),
            };
            let gen_spec = generate_spec(args);
            let inputs = payload::resolve_inputs(&md, &gen_spec)?;
            let tensors = payload::generate(&inputs, &gen_spec)?;
            let req = infergate_proto::InferRequest {
                inputs: tensors,
                ..Default::default()
            };
            Ok((Source::V2(req), md))
        }
    }
}

pub async fn prepare(args: &RunArgs) -> Result<Vec<Prepared>> {
    let tls = TlsOptions {
        insecure: args.insecure,
        cacert: args.cacert.clone(),
    };
    let files = args
        .input_data
        .iter()
        .map(|path| payload::read_file(path))
        .collect::<Result<Vec<_>>>()?;
    let opts = EndpointOptions {
        model: &args.model,
        version: args.model_version.as_deref(),
        http2: args.http2,
        headers: &args.headers,
        tls: &tls,
        validate: args.validate,
    };
    let mut out = Vec::new();
    for text in &args.targets {
        let spec = TargetSpec::parse(text)?;
        let protocol = spec.protocol.unwrap_or(args.protocol);
        // One body per file (metadata asked for each, at set-up only), or
        // one generated.
        let mut encoded = Vec::new();
        let sources: Vec<Option<&Source>> = if files.is_empty() {
            vec![None]
        } else {
            files.iter().map(Some).collect()
        };
        for file in sources {
            let (source, md) = source_for(args, file, &spec, protocol, &tls).await?;
            encoded.push(payload::encode(
                &source,
                protocol,
                &args.model,
                opts.version,
                &md,
            )?);
        }
        let endpoint = Endpoint::new(&spec, protocol, &encoded, &opts)?;
        let info = TargetInfo {
            label: spec.label.clone(),
            url: text.clone(),
            protocol,
            http_version: match http_version(protocol, args.http2) {
                HttpVersion::H1 => "1.1",
                HttpVersion::H2 => "2",
            },
            tls: spec.tls,
            request_bytes: encoded.iter().map(|e| e.len()).sum::<usize>() / encoded.len().max(1),
        };
        out.push(Prepared {
            info,
            endpoint: Arc::new(endpoint),
        });
    }
    Ok(out)
}
