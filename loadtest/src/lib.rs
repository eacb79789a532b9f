//! infergate-loadtest: drives KServe V1/V2 REST and gRPC servers (infergate,
//! KServe, Triton, MLServer) and reports latency percentiles and throughput.
//! It depends on the wire crate only, so it measures any server alike.
