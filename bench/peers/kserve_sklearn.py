"""KServe's Python model server with a scikit-learn model, as KServe's own
sklearnserver does it: `model.joblib` from --model_dir, V1 and V2 (REST and
gRPC) through kserve.ModelServer. Every KServe server flag applies."""

import argparse
import os

import joblib
from kserve import Model, ModelServer, model_server
from kserve.utils.utils import get_predict_input, get_predict_response

parser = argparse.ArgumentParser(parents=[model_server.parser])
parser.add_argument("--model_dir", required=True, help="directory holding model.joblib")
args, _ = parser.parse_known_args()


class SKLearnModel(Model):
    def __init__(self, name: str, model_dir: str):
        super().__init__(name)
        self.model_dir = model_dir
        self.ready = False

    def load(self) -> bool:
        self._model = joblib.load(os.path.join(self.model_dir, "model.joblib"))
        self.ready = True
        return self.ready

    def predict(self, payload, headers=None, response_headers=None):
        instances = get_predict_input(payload)
        result = self._model.predict(instances)
        return get_predict_response(payload, result, self.name)


if __name__ == "__main__":
    model = SKLearnModel(args.model_name, args.model_dir)
    model.load()
    ModelServer().start([model])
