"""Drives infergate with NVIDIA's tritonclient (HTTP and gRPC): health,
metadata and inference, JSON and binary, for every datatype.

Usage: tritonclient_check.py HTTP_HOST:PORT GRPC_HOST:PORT
Exits non-zero with a message on the first mismatch.
"""
import sys

import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

http_url, grpc_url = sys.argv[1], sys.argv[2]
DTYPES = {
    "BOOL": np.array([[True, False, True]]),
    "UINT8": np.array([[0, 7, 255]], dtype=np.uint8),
    "UINT16": np.array([[0, 7, 65535]], dtype=np.uint16),
    "UINT32": np.array([[0, 7, 2**32 - 1]], dtype=np.uint32),
    "UINT64": np.array([[0, 7, 2**64 - 1]], dtype=np.uint64),
    "INT8": np.array([[-128, 0, 127]], dtype=np.int8),
    "INT16": np.array([[-32768, 0, 32767]], dtype=np.int16),
    "INT32": np.array([[-(2**31), 0, 2**31 - 1]], dtype=np.int32),
    "INT64": np.array([[-(2**63), 0, 2**63 - 1]], dtype=np.int64),
    "FP16": np.array([[0.5, -1.0, 65504.0]], dtype=np.float16),
    "FP32": np.array([[6.8, -2.8, 1e-30]], dtype=np.float32),
    "FP64": np.array([[0.1, -1e300, 3.0]], dtype=np.float64),
    "BYTES": np.array([[b"hello", b"", "\u00e9t\u00e9".encode()]], dtype=np.object_),
}


def check(cond, msg):
    if not cond:
        print("FAIL:", msg)
        sys.exit(1)


def simple_inputs(mod, binary=None):
    a = np.arange(16, dtype=np.int32).reshape(1, 16)
    b = np.ones((1, 16), dtype=np.int32)
    inputs = [mod.InferInput("INPUT0", [1, 16], "INT32"), mod.InferInput("INPUT1", [1, 16], "INT32")]
    if binary is None:
        inputs[0].set_data_from_numpy(a)
        inputs[1].set_data_from_numpy(b)
    else:
        inputs[0].set_data_from_numpy(a, binary_data=binary)
        inputs[1].set_data_from_numpy(b, binary_data=binary)
    return a, b, inputs


def run(mod, client, name):
    check(client.is_server_live(), f"{name}: server live")
    check(client.is_server_ready(), f"{name}: server ready")
    check(client.is_model_ready("simple"), f"{name}: model ready")
    check(not client.is_model_ready("simple", "99"), f"{name}: unknown version is not ready")
    meta = client.get_server_metadata()
    server_name = meta["name"] if isinstance(meta, dict) else meta.name
    check(server_name == "infergate", f"{name}: server metadata {meta}")
    mmeta = client.get_model_metadata("simple")
    inputs = mmeta["inputs"] if isinstance(mmeta, dict) else mmeta.inputs
    first = inputs[0]["name"] if isinstance(inputs[0], dict) else inputs[0].name
    check(first == "INPUT0", f"{name}: model metadata {mmeta}")

    # The classic Triton 'simple' example, in each encoding the client offers.
    modes = [None, True, False] if mod is httpclient else [None]
    for binary in modes:
        a, b, inputs = simple_inputs(mod, binary)
        outputs = [mod.InferRequestedOutput("OUTPUT0"), mod.InferRequestedOutput("OUTPUT1")]
        if mod is httpclient and binary is not None:
            outputs = [mod.InferRequestedOutput(o, binary_data=binary) for o in ("OUTPUT0", "OUTPUT1")]
        result = client.infer("simple", inputs, outputs=outputs, request_id="rq-1")
        check(np.array_equal(result.as_numpy("OUTPUT0"), a + b), f"{name} binary={binary}: OUTPUT0")
        check(np.array_equal(result.as_numpy("OUTPUT1"), a - b), f"{name} binary={binary}: OUTPUT1")
        resp = result.get_response()
        rid = resp["id"] if isinstance(resp, dict) else resp.id
        check(rid == "rq-1", f"{name}: request id echoed, got {rid!r}")

    # Every datatype through the echo model.
    for dtype, arr in DTYPES.items():
        inp = mod.InferInput("x", list(arr.shape), dtype)
        inp.set_data_from_numpy(arr)
        out = mod.InferRequestedOutput("x")
        got = client.infer("echo", [inp], outputs=[out]).as_numpy("x")
        check(got is not None and got.shape == arr.shape, f"{name} {dtype}: shape {None if got is None else got.shape}")
        if dtype == "BYTES":
            check(list(got.flatten()) == list(arr.flatten()), f"{name} BYTES: {got}")
        else:
            check(np.array_equal(got, arr), f"{name} {dtype}: {got} != {arr}")

    # Errors surface as exceptions with KServe's message.
    try:
        _, _, inputs = simple_inputs(mod)
        client.infer("nope", inputs)
        check(False, f"{name}: unknown model must fail")
    except InferenceServerException as e:
        check("Model with name nope does not exist." in str(e), f"{name}: error text {e}")
    # Repository control as tritonclient sends it (over gRPC it puts the
    # model name in a different field than KServe's proto).
    client.unload_model("simple")
    check(not client.is_model_ready("simple"), f"{name}: unloaded model is not ready")
    client.load_model("simple")
    check(client.is_model_ready("simple"), f"{name}: load_model brings the model back")
    print(f"{name}: ok")


run(httpclient, httpclient.InferenceServerClient(http_url), "tritonclient.http")
run(grpcclient, grpcclient.InferenceServerClient(grpc_url), "tritonclient.grpc")
