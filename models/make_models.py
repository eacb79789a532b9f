"""Builds the example ONNX models committed beside this script.

    .venv/bin/python models/make_models.py [OUT_DIR]   # default: models/

* sklearn-iris/model.onnx - scikit-learn LogisticRegression on iris, exported
  with skl2onnx (outputs `label` INT64 and `probabilities` FP32). The seed
  request [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]] predicts [1, 1].
* intent/model.onnx - TF-IDF + LogisticRegression over a small set of
  utterances, string in (`text`), string label out (`label`).
* mlp/model.onnx - a 256-512-512-10 FP32 multilayer perceptron with fixed
  random weights (`input` -> `logits`), for batching benchmarks.

Everything is seeded, so the files come out the same on every run.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType, StringTensorType
from sklearn.datasets import load_iris
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
SEED_REQUEST = [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]


def save(model, name):
    path = os.path.join(OUT, name, "model.onnx")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # skl2onnx names the graph with a random UUID and lists opsets in set
    # order; a fixed name, sorted opsets and no producer version keep the
    # bytes identical from run to run.
    model.graph.name = name
    model.producer_version = ""
    opsets = sorted(model.opset_import, key=lambda o: o.domain)
    del model.opset_import[:]
    model.opset_import.extend(opsets)
    onnx.save_model(model, path)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def rename_outputs(model, names):
    """skl2onnx names outputs output_label/output_probability; give them plain names."""
    mapping = dict(names)
    for node in model.graph.node:
        node.output[:] = [mapping.get(o, o) for o in node.output]
    for out in model.graph.output:
        out.name = mapping.get(out.name, out.name)
    return model


def iris():
    x, y = load_iris(return_X_y=True)
    clf = LogisticRegression(max_iter=1000).fit(x, y)
    assert clf.predict(SEED_REQUEST).tolist() == [1, 1]
    onx = convert_sklearn(
        clf,
        initial_types=[("float_input", FloatTensorType([None, 4]))],
        options={id(clf): {"zipmap": False}},
        target_opset=17,
    )
    save(rename_outputs(onx, {"output_label": "label", "output_probability": "probabilities"}), "sklearn-iris")


INTENTS = {
    "book_flight": [
        "I want to book a flight", "book me a plane ticket to Paris", "find flights to Berlin tomorrow",
        "I need a flight to New York", "reserve a seat on the next flight", "get me a ticket to fly to Rome",
    ],
    "weather": [
        "what is the weather like today", "will it rain tomorrow", "is it sunny in Madrid",
        "weather forecast for the weekend", "how cold is it outside", "do I need an umbrella today",
    ],
    "play_music": [
        "play some jazz", "put on my running playlist", "play the latest album by Adele",
        "I want to listen to music", "start playing rock songs", "play something relaxing",
    ],
    "set_alarm": [
        "wake me up at seven", "set an alarm for 6 am", "set a timer for ten minutes",
        "remind me at noon", "alarm for tomorrow morning", "set my alarm to 8 o'clock",
    ],
}


def intent():
    texts = [t for ts in INTENTS.values() for t in ts]
    labels = [label for label, ts in INTENTS.items() for _ in ts]
    tfidf = TfidfVectorizer()
    pipe = Pipeline([("tfidf", tfidf), ("clf", LogisticRegression(max_iter=1000, C=10.0))]).fit(texts, labels)
    probe = ["I want to book a flight", "will it be sunny tomorrow", "play jazz please"]
    assert pipe.predict(probe).tolist() == ["book_flight", "weather", "play_music"], pipe.predict(probe)
    onx = convert_sklearn(
        pipe,
        initial_types=[("text", StringTensorType([None]))],
        # ORT cannot build StringNormalizer's default locale on minimal systems.
        options={id(tfidf): {"locale": "C.UTF-8"}, id(pipe.steps[-1][1]): {"zipmap": False}},
        target_opset=17,
    )
    save(rename_outputs(onx, {"output_label": "label", "output_probability": "probabilities"}), "intent")


def mlp():
    rng = np.random.default_rng(7)
    sizes = [256, 512, 512, 10]
    nodes, inits, prev = [], [], "input"
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        w = (rng.standard_normal((a, b)) / np.sqrt(a)).astype(np.float32)
        bias = (rng.standard_normal(b) * 0.01).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(bias, f"b{i}")]
        out = "logits" if i == len(sizes) - 2 else f"h{i}"
        mm = f"mm{i}"
        nodes.append(helper.make_node("MatMul", [prev, f"w{i}"], [mm]))
        nodes.append(helper.make_node("Add", [mm, f"b{i}"], [out if out == "logits" else f"pre{i}"]))
        if out != "logits":
            nodes.append(helper.make_node("Relu", [f"pre{i}"], [out]))
        prev = out
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 256])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="infergate")
    model.ir_version = 8  # what opset 17 needs; ONNX Runtime 1.31 reads up to 13
    onnx.checker.check_model(model)
    save(model, "mlp")


if __name__ == "__main__":
    iris()
    intent()
    mlp()
