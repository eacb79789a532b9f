"""MLflow model directories made by MLflow itself (mlflow.onnx.save_model),
for the predictor's MLmodel support.

Usage: text_mlflow.py OUT   writes OUT/iris and OUT/minilm, each with an
MLmodel file (onnx flavour) and a tensor signature.
"""
import os
import sys

import mlflow.onnx
import numpy as np
import onnx
from mlflow.models import ModelSignature
from mlflow.types.schema import Schema, TensorSpec

sys.path.insert(0, os.path.dirname(__file__))
import text_model  # noqa: E402

out = sys.argv[1]
root = os.path.join(os.path.dirname(__file__), "..", "..")
iris = ModelSignature(
    inputs=Schema([TensorSpec(np.dtype(np.float32), (-1, 4), "float_input")]),
    outputs=Schema(
        [TensorSpec(np.dtype(np.int64), (-1,), "label"), TensorSpec(np.dtype(np.float32), (-1, 3), "probabilities")]
    ),
)
mlflow.onnx.save_model(onnx.load(os.path.join(root, "models/sklearn-iris/model.onnx")), os.path.join(out, "iris"), signature=iris)
ids = [TensorSpec(np.dtype(np.int64), (-1, -1), n) for n in ("input_ids", "attention_mask", "token_type_ids")]
minilm = ModelSignature(
    inputs=Schema(ids),
    outputs=Schema([TensorSpec(np.dtype(np.float32), (-1, -1, 384), "last_hidden_state")]),
)
mlflow.onnx.save_model(onnx.load(text_model.onnx_path()), os.path.join(out, "minilm"), signature=minilm)
