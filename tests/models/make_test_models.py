"""Small ONNX models the end-to-end tests need beside the example models.

    python tests/models/make_test_models.py OUT_DIR

* rowsum/model.onnx - input `x` FP32 [batch, -1] -> `sum` FP32 [batch]: the
  sum of each row; the width may vary between requests, so batching must keep
  different widths apart, and each caller's sums tell whose rows it got back.
* allsum/model.onnx - input `x` FP32 [batch, 2] -> `total` FP32 [1]: sums the
  whole tensor, so its output has no batch dimension (it cannot be batched).
"""
import os
import sys

import onnx
from onnx import TensorProto, helper

OUT = sys.argv[1]


def save(model, name):
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = os.path.join(OUT, name, "model.onnx")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    onnx.save_model(model, path)


def rowsum():
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
    graph = helper.make_graph(
        [helper.make_node("ReduceSum", ["x", "axes"], ["sum"], keepdims=0)],
        "rowsum",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "width"])],
        [helper.make_tensor_value_info("sum", TensorProto.FLOAT, ["batch"])],
        [axes],
    )
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), "rowsum")


def allsum():
    graph = helper.make_graph(
        [helper.make_node("ReduceSum", ["x"], ["s"], keepdims=0), helper.make_node("Reshape", ["s", "one"], ["total"])],
        "allsum",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 2])],
        [helper.make_tensor_value_info("total", TensorProto.FLOAT, [1])],
        [helper.make_tensor("one", TensorProto.INT64, [1], [1])],
    )
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), "allsum")


if __name__ == "__main__":
    rowsum()
    allsum()
