//! The mock's `inference.GRPCInferenceService`: ModelInfer echoes its inputs
//! (raw contents stay raw), metadata from `--input`, always ready.
use std::sync::Arc;

use infergate_proto::grpc::metadata_to_grpc;
use infergate_proto::grpc::pb::grpc_inference_service_server::GrpcInferenceService;
use infergate_proto::grpc::pb::*;
use tonic::{Request, Response, Status};

use super::State;

pub struct MockGrpc {
    pub state: Arc<State>,
}

impl MockGrpc {
    fn admit(&self, metadata: &tonic::metadata::MetadataMap) -> Result<(), Status> {
        if self.state.admits(&metadata.clone().into_headers()) {
            Ok(())
        } else {
            Err(Status::unauthenticated("missing the required header"))
        }
    }
}

#[tonic::async_trait]
impl GrpcInferenceService for MockGrpc {
    async fn server_live(
        &self,
        _: Request<ServerLiveRequest>,
    ) -> Result<Response<ServerLiveResponse>, Status> {
        Ok(Response::new(ServerLiveResponse { live: true }))
    }

    async fn server_ready(
        &self,
        _: Request<ServerReadyRequest>,
    ) -> Result<Response<ServerReadyResponse>, Status> {
        Ok(Response::new(ServerReadyResponse { ready: true }))
    }

    async fn model_ready(
        &self,
        _: Request<ModelReadyRequest>,
    ) -> Result<Response<ModelReadyResponse>, Status> {
        Ok(Response::new(ModelReadyResponse { ready: true }))
    }

    async fn server_metadata(
        &self,
        _: Request<ServerMetadataRequest>,
    ) -> Result<Response<ServerMetadataResponse>, Status> {
        Ok(Response::new(ServerMetadataResponse {
            name: "infergate-loadtest-mock".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            extensions: vec![],
        }))
    }

    async fn model_metadata(
        &self,
        req: Request<ModelMetadataRequest>,
    ) -> Result<Response<ModelMetadataResponse>, Status> {
        self.admit(req.metadata())?;
        Ok(Response::new(metadata_to_grpc(
            &self.state.metadata(&req.get_ref().name),
        )))
    }

    async fn model_infer(
        &self,
        req: Request<ModelInferRequest>,
    ) -> Result<Response<ModelInferResponse>, Status> {
        self.admit(req.metadata())?;
        if self.state.behavior.serve().await {
            return Err(Status::internal("mock error"));
        }
        let req = req.into_inner();
        let outputs = req
            .inputs
            .into_iter()
            .map(|i| model_infer_response::InferOutputTensor {
                name: i.name,
                datatype: i.datatype,
                shape: i.shape,
                parameters: i.parameters,
                contents: i.contents,
            })
            .collect();
        Ok(Response::new(ModelInferResponse {
            model_name: req.model_name,
            model_version: req.model_version,
            id: req.id,
            parameters: Default::default(),
            outputs,
            raw_output_contents: req.raw_input_contents,
        }))
    }

    async fn repository_model_load(
        &self,
        _: Request<RepositoryModelLoadRequest>,
    ) -> Result<Response<RepositoryModelLoadResponse>, Status> {
        Err(Status::unimplemented("the mock has no model repository"))
    }

    async fn repository_model_unload(
        &self,
        _: Request<RepositoryModelUnloadRequest>,
    ) -> Result<Response<RepositoryModelUnloadResponse>, Status> {
        Err(Status::unimplemented("the mock has no model repository"))
    }
}
