"""KServe's Python model server with fastembed: all-MiniLM-L6-v2 registered
as a custom fastembed model (mean pooling, normalised) and loaded from
--model_dir (model.onnx, tokenizer.json, tokenizer_config.json,
special_tokens_map.json, config.json) with no download; ONNX Runtime with
one thread: its default thread pool pins a thread to every core, escaping
the bench's taskset (seen: a thread on cpu 1 under `taskset -c 0`). V1 `instances` (strings) in, `predictions`
(384-float embeddings) out; every KServe server flag applies."""

import argparse

import numpy as np
from fastembed import TextEmbedding
from fastembed.common.model_description import ModelSource, PoolingType
from kserve import Model, ModelServer, model_server
from kserve.utils.utils import get_predict_input, get_predict_response

parser = argparse.ArgumentParser(parents=[model_server.parser])
parser.add_argument("--model_dir", required=True, help="directory holding model.onnx and the tokenizer files")
args, _ = parser.parse_known_args()

NAME = "local/all-minilm-l6-v2-int8"


class FastEmbedModel(Model):
    def __init__(self, name: str, model_dir: str):
        super().__init__(name)
        self.model_dir = model_dir
        self.ready = False

    def load(self) -> bool:
        TextEmbedding.add_custom_model(
            model=NAME,
            pooling=PoolingType.MEAN,
            normalization=True,
            sources=ModelSource(hf=NAME),
            dim=384,
            model_file="model.onnx",
        )
        self._model = TextEmbedding(NAME, specific_model_path=self.model_dir, local_files_only=True, threads=1)
        self.ready = True
        return self.ready

    def predict(self, payload, headers=None, response_headers=None):
        texts = [str(t) for t in get_predict_input(payload)]
        embeddings = np.stack(list(self._model.embed(texts)))
        return get_predict_response(payload, embeddings, self.name)


if __name__ == "__main__":
    model = FastEmbedModel(args.model_name, args.model_dir)
    model.load()
    ModelServer().start([model])
