"""A KServe Python transformer with identity pre- and post-processing: every
request goes to --predictor_host (--predictor_protocol v1, v2 or grpc-v2)
through kserve.Model's own predictor client, as a KServe transformer
container does. It measures KServe's transformer overhead itself."""

import argparse

from kserve import Model, ModelServer, model_server

parser = argparse.ArgumentParser(parents=[model_server.parser])
args, _ = parser.parse_known_args()


class IdentityTransformer(Model):
    def __init__(self, name: str):
        super().__init__(name)
        self.ready = True


if __name__ == "__main__":
    ModelServer().start([IdentityTransformer(args.model_name)])
