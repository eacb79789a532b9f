"""A real KServe Python predictor (kserve from PyPI) serving a scikit-learn
iris model as `sklearn-iris`, V1 and V2 over REST and gRPC, the way KServe's
sklearnserver does. The model is trained at start exactly as
models/make_models.py trains it, so it answers what the ONNX model answers.

Usage: kserve_iris_predictor.py --http_port P --grpc_port G [any KServe flag]
"""
import argparse

from kserve import Model, ModelServer, model_server
from kserve.utils.utils import get_predict_input, get_predict_response
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

parser = argparse.ArgumentParser(parents=[model_server.parser])
args, _ = parser.parse_known_args()


class Iris(Model):
    def __init__(self, name):
        super().__init__(name)
        x, y = load_iris(return_X_y=True)
        self.clf = LogisticRegression(max_iter=1000).fit(x, y)
        self.ready = True

    def predict(self, payload, headers=None, response_headers=None):
        return get_predict_response(payload, self.clf.predict(get_predict_input(payload)), self.name)


if __name__ == "__main__":
    ModelServer().start([Iris("sklearn-iris")])
