//! Compiles `proto/inference.proto` with protox (pure Rust, so no `protoc` has
//! to be installed) and generates the tonic client and server from it. The
//! encoded descriptor set is kept for gRPC server reflection.
use prost::Message;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/inference.proto");
    let fds = protox::compile(["inference.proto"], ["proto"])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("inference_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure()
        // Raw tensor contents stay reference-counted buffers, not copies.
        .bytes(".inference.ModelInferRequest.raw_input_contents")
        .bytes(".inference.ModelInferResponse.raw_output_contents")
        .compile_fds(fds)?;
    Ok(())
}
