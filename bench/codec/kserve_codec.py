"""KServe's own V2 REST codec on the same work as infergate's criterion
benchmark `v2_1x1000_fp32/*` (proto/benches/codecs.rs): decode a request
holding one 1x1000 FP32 tensor, build a response with that tensor as output,
encode it. Uses kserve's classes exactly as its REST server does
(pydantic InferenceRequest -> InferRequest -> numpy -> InferResponse.to_rest
-> orjson). Prints microseconds per iteration for JSON and binary forms.
"""
import sys
import timeit

import numpy as np
import orjson
from kserve.protocol.infer_type import InferInput, InferOutput, InferRequest, InferResponse
from kserve.protocol.rest.v2_datamodels import InferenceRequest

values = (np.arange(1000, dtype=np.float32) * np.float32(0.37) - np.float32(91.5)).reshape(1, 1000)
json_body = orjson.dumps(
    {"id": "bench", "inputs": [{"name": "input", "shape": [1, 1000], "datatype": "FP32", "data": values.flatten().tolist()}]}
)
inp = InferInput("input", [1, 1000], "FP32")
inp.set_data_from_numpy(values, binary_data=True)
binary_body, binary_len = InferRequest("bench", infer_inputs=[inp], request_id="bench").to_rest()


def respond(req, binary):
    arr = req.inputs[0].as_numpy()
    out = InferOutput("input", list(arr.shape), "FP32")
    out.set_data_from_numpy(arr, binary_data=binary)
    resp = InferResponse(response_id=req.id, model_name="bench", infer_outputs=[out], use_binary_outputs=binary)
    body, _ = resp.to_rest()
    return body if isinstance(body, bytes) else orjson.dumps(body)


def json_round():
    req = InferRequest.from_inference_request(InferenceRequest.model_validate_json(json_body), "bench")
    return respond(req, False)


def binary_round():
    req = InferRequest.from_bytes(binary_body, binary_len, "bench")
    return respond(req, True)


def per_iter_us(fn):
    n, t = timeit.Timer(fn).autorange()
    best = min(timeit.repeat(fn, number=n, repeat=5))
    return best / n * 1e6


assert orjson.loads(json_round())["outputs"][0]["data"][:2] == values.flatten().tolist()[:2]
print(f"kserve json_decode_encode_us {per_iter_us(json_round):.1f}")
print(f"kserve binary_decode_encode_us {per_iter_us(binary_round):.1f}")
sys.stdout.flush()
