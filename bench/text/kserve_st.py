"""KServe's Python model server with sentence-transformers: the Hugging Face
path a KServe user writes as a custom model. all-MiniLM-L6-v2's original
(safetensors) weights from --model_dir (a sentence-transformers directory:
modules.json, config.json, tokenizer files), on the CPU with one torch
thread (the bench gives each server one core). V1 `instances` (strings) in, `predictions` (normalised 384-float
embeddings) out; every KServe server flag applies."""

import argparse

import torch

from kserve import Model, ModelServer, model_server
from kserve.utils.utils import get_predict_input, get_predict_response
from sentence_transformers import SentenceTransformer

parser = argparse.ArgumentParser(parents=[model_server.parser])
parser.add_argument("--model_dir", required=True, help="sentence-transformers model directory")
args, _ = parser.parse_known_args()


class SentenceTransformerModel(Model):
    def __init__(self, name: str, model_dir: str):
        super().__init__(name)
        self.model_dir = model_dir
        self.ready = False

    def load(self) -> bool:
        torch.set_num_threads(1)
        self._model = SentenceTransformer(self.model_dir, device="cpu", local_files_only=True)
        self.ready = True
        return self.ready

    def predict(self, payload, headers=None, response_headers=None):
        texts = [str(t) for t in get_predict_input(payload)]
        embeddings = self._model.encode(texts, normalize_embeddings=True)
        return get_predict_response(payload, embeddings, self.name)


if __name__ == "__main__":
    model = SentenceTransformerModel(args.model_name, args.model_dir)
    model.load()
    ModelServer().start([model])
