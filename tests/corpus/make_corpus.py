# Writes the corpus files of tests/corpus (run: python3 tests/corpus/make_corpus.py);
# the .jsonl files are committed and are what tests/tests/corpus.rs reads.
import json, os
OUT = os.path.dirname(os.path.abspath(__file__))
def w(fname, cases):
    with open(os.path.join(OUT, fname), "w") as f:
        for c in cases:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")

E = "/v2/models/echo/infer"
S = "/v2/models/simple/infer"
J = {"content-type": "application/json"}
def t(name="x", shape=[1], dt="FP32", data=[1.0], **kw):
    d = {"name": name, "shape": shape, "datatype": dt, "data": data}; d.update(kw); return d
def v2(name, body, status, err=None, path=E, **kw):
    c = {"name": name, "path": path, "headers": J}
    if isinstance(body, str): c["body"] = body
    else: c["body_json"] = body
    c["expect"] = {"status": status}
    if err: c["expect"]["error"] = err
    c.update(kw); return c
def inp(*ts): return {"inputs": list(ts)}

v2c = [
 v2("empty body", "", 400),
 v2("whitespace body", "   \n ", 400),
 v2("null body", "null", 400),
 v2("array body", "[]", 400),
 v2("string body", "\"inputs\"", 400),
 v2("missing inputs", {}, 400, "inputs"),
 v2("inputs not a list", {"inputs": {"name": "x"}}, 400),
 v2("inputs empty list: echo answers no outputs", {"inputs": []}, 200),
 v2("input missing name", inp({"shape": [1], "datatype": "FP32", "data": [1]}), 400, "name"),
 v2("input missing shape", inp({"name": "x", "datatype": "FP32", "data": [1]}), 400, "shape"),
 v2("input missing datatype", inp({"name": "x", "shape": [1], "data": [1]}), 400, "datatype"),
 v2("input missing data", inp({"name": "x", "shape": [1], "datatype": "FP32"}), 400),
 v2("unknown datatype", inp(t(dt="FLOAT32")), 400, "FLOAT32"),
 v2("lowercase datatype", inp(t(dt="fp32")), 400, "fp32"),
 v2("datatype a number", inp(t(dt=5)), 400),
 v2("negative dimension", inp(t(shape=[-1], data=[1])), 400),
 v2("float dimension", inp(t(shape=[1.5], data=[1])), 400),
 v2("string dimension", inp(t(shape=["1"], data=[1])), 400),
 v2("shape and data disagree", inp(t(shape=[3], data=[1, 2])), 400, "x"),
 v2("more data than shape", inp(t(shape=[1], data=[1, 2])), 400, "x"),
 v2("huge shape, one element", inp(t(shape=[4294967296, 4294967296], data=[1])), 400),
 v2("shape product overflows u64", inp(t(shape=[4611686018427387904, 4611686018427387904, 16], data=[1])), 400),
 v2("empty tensor with huge dimension", inp(t(shape=[0, 9223372036854775807], data=[])), 400),
 v2("dimension beyond i64", inp(t(shape=[18446744073709551616], data=[1])), 400),
 v2("ragged data", inp(t(shape=[2, 2], data=[[1, 2], [3]])), 400, "x"),
 v2("mixed list and number", inp(t(shape=[2, 1], data=[[1], 2])), 400, "x"),
 v2("string in FP32 data", inp(t(data=["1.5"])), 400, "x"),
 v2("bool in INT32 data", inp(t(dt="INT32", data=[True])), 400, "x"),
 v2("fraction in INT32 data", inp(t(dt="INT32", data=[1.5])), 400, "x"),
 v2("INT8 overflow", inp(t(dt="INT8", data=[128])), 400, "x"),
 v2("UINT8 negative", inp(t(dt="UINT8", data=[-1])), 400, "x"),
 v2("INT64 beyond range", inp(t(dt="INT64", data=[9223372036854775808])), 400, "x"),
 v2("UINT64 beyond range", inp(t(dt="UINT64", data=[18446744073709551616])), 400, "x"),
 v2("FP32 beyond range", inp(t(data=[1e39])), 400, "x"),
 v2("FP64 1e400", "{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP64\",\"data\":[1e400]}]}", 400),
 v2("bare NaN token is not JSON", "{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[NaN]}]}", 400),
 v2("bare Infinity token is not JSON", "{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[Infinity]}]}", 400),
 v2("NaN string in FP32", inp(t(data=["NaN"])), 200, None, expect_body="NaN"),
 v2("Infinity string in FP32", inp(t(data=["Infinity"])), 200, None, expect_body="Infinity"),
 v2("-Infinity string in FP64", inp(t(dt="FP64", data=["-Infinity"])), 200, None, expect_body="-Infinity"),
 v2("lowercase nan string (lenient)", inp(t(data=["nan"])), 200, None, expect_body="NaN"),
 v2("inf string (lenient)", inp(t(data=["inf"])), 200, None, expect_body="Infinity"),
 v2("+Infinity string (lenient)", inp(t(data=["+Infinity"])), 200, None, expect_body="Infinity"),
 v2("NaN string in INT32", inp(t(dt="INT32", data=["NaN"])), 400, "x"),
 v2("NaN string beside numbers", inp(t(shape=[3], data=[1.00000005960464477539062500001, "NaN", 2])), 200),
 v2("INT64 -0 is zero", "{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"INT64\",\"data\":[-0]}]}", 200),
 v2("INT64 -0.0 is not an integer", "{\"inputs\":[{\"name\":\"x\",\"shape\":[2],\"datatype\":\"INT64\",\"data\":[1, -0.0]}]}", 400, "must be an integer"),
 # Found by the json_numbers_differential fuzz target: -1e-400 reaches
 # serde's reader as -0.0, which was taken for the integer -0.
 v2("INT64 -1e-400 is not an integer (fuzz)", "{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"INT64\",\"data\":[-1e-400]}]}", 400, "must be an integer"),
 v2("FP16 data echoed as JSON", inp(t(dt="FP16", data=[0.5])), 400, "FP16"),
 v2("FP16 beyond range", inp(t(dt="FP16", data=[1e6])), 400, "x"),
 v2("BYTES given a number", inp(t(dt="BYTES", data=[1])), 400, "x"),
 v2("BYTES unicode", inp(t(dt="BYTES", data=["żółw 🐢"])), 200, None, expect_body="🐢"),
 v2("BOOL given a number", inp(t(dt="BOOL", data=[1])), 400, "x"),
 v2("data an object", inp(t(data={"a": 1})), 400, "x"),
 v2("data null", inp(t(data=None)), 400),
 v2("scalar data without a list (lenient)", inp(t(shape=[1], data=1)), 200),
 v2("duplicate input names", inp(t(), t()), 400, "x"),
 v2("duplicate JSON key", "{\"inputs\":[{\"name\":\"x\",\"name\":\"y\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}]}", 400),
 v2("unicode tensor name", inp(t(name="wejście-ü-字")), 200, None, expect_body="字"),
 v2("100 KiB tensor name", None, 200, None, body_parts=["{\"inputs\":[{\"name\":\"", {"repeat": "n", "n": 102400}, "\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}]}"]),
 v2("unknown model", inp(t()), 404, "nosuch", path="/v2/models/nosuch/infer"),
 v2("unicode model name", inp(t()), 404, None, path="/v2/models/%C5%BC%C3%B3%C5%82w/infer"),
 v2("invalid percent-encoding in model name", inp(t()), [400, 404], None, path="/v2/models/%ff/infer"),
 v2("unknown version", inp(t()), 404, None, path="/v2/models/echo/versions/9/infer"),
 v2("truncated JSON", "{\"inputs\":[{\"name\":\"x\",\"shape\":[1]", 400),
 v2("trailing garbage", "{\"inputs\":[]} xyz", 400),
 v2("byte order mark", "\ufeff{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}]}", 400),
 v2("unknown output requested", {"inputs": [t()], "outputs": [{"name": "nope"}]}, 400, "nope"),
 v2("outputs not a list", {"inputs": [t()], "outputs": {"name": "x"}}, 400),
 v2("parameters not an object", {"inputs": [t()], "parameters": [1]}, 400),
 v2("id not a string", {"id": 5, "inputs": [t()]}, 400),
 v2("binary_data_output not a bool is ignored (lenient)", {"inputs": [t()], "outputs": [{"name": "x", "parameters": {"binary_data_output": "yes"}}]}, 200),
 v2("simple with INT64 inputs", inp(t("INPUT0", [1, 16], "INT64", [1]*16), t("INPUT1", [1, 16], "INT64", [1]*16)), 400, "INPUT0", path=S),
 v2("simple missing INPUT1", inp(t("INPUT0", [1, 16], "INT32", [1]*16)), 400, "INPUT1", path=S),
 v2("simple wrong shape", inp(t("INPUT0", [1, 4], "INT32", [1]*4), t("INPUT1", [1, 4], "INT32", [1]*4)), 400, None, path=S),
 v2("simple shapes differ", inp(t("INPUT0", [1, 16], "INT32", [1]*16), t("INPUT1", [2, 16], "INT32", [1]*32)), 400, None, path=S),
 v2("zero-size tensor", inp(t(shape=[0], data=[])), 200),
 v2("scalar shape []", inp(t(shape=[], data=[1])), 200),
 v2("GET on infer", "", 405, None, method="GET"),
 v2("PUT on infer", "", 405, None, method="PUT"),
 v2("text/plain content type", inp(t()), 400, "Content-Type", headers={"content-type": "text/plain"}),
 v2("nesting 65 deep", None, 400, "nested", body_parts=["{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":", {"repeat": "[", "n": 65}, "1", {"repeat": "]", "n": 65}, "}]}"]),
 v2("nesting 100000 deep", None, 400, None, body_parts=["{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":", {"repeat": "[", "n": 100000}, "1", {"repeat": "]", "n": 100000}, "}]}"]),
 v2("object nesting 100000 deep in parameters", None, 400, None, body_parts=["{\"parameters\":{\"a\":", {"repeat": "{\"a\":", "n": 100000}, "1", {"repeat": "}", "n": 100000}, "},\"inputs\":[]}"]),
 v2("invalid UTF-8 in a string", None, 400, None, body_hex="7b22696e70757473223a5b7b226e616d65223a22ff222c227368617065223a5b315d2c226461746174797065223a2246503332222c2264617461223a5b315d7d5d7d"),
 v2("lone surrogate escape", "{\"inputs\":[{\"name\":\"\\ud800\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}]}", 400),
 v2("NUL escape in a name", "{\"inputs\":[{\"name\":\"a\\u0000b\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}]}", 200),
 v2("one million elements", None, 200, None, body_parts=["{\"inputs\":[{\"name\":\"x\",\"shape\":[1000000],\"datatype\":\"INT8\",\"data\":[", {"repeat": "1,", "n": 999999}, "1]}]}"]),
]
for c in v2c:
    if "body" in c and c["body"] is None: del c["body"]
    if "body_json" in c and c["body_json"] is None: del c["body_json"]
    if "expect_body" in c: c["expect"]["body"] = c.pop("expect_body")
    if c.get("method") == "GET" or c.get("method") == "PUT": c.pop("headers", None)
w("v2_json.jsonl", v2c)

# ---- binary extension
def bx(name, js, blobs, status, err=None, headers=None, **kw):
    c = {"name": name, "path": E, "binary": {"json": js, "blobs_hex": blobs}, "expect": {"status": status}}
    if err: c["expect"]["error"] = err
    if headers: c["headers"] = headers
    c.update(kw); return c
def bt(name="x", shape=[2], dt="FP32", size=8, **kw):
    d = {"name": name, "shape": shape, "datatype": dt, "parameters": {"binary_data_size": size}}; d.update(kw); return d
F2 = "0000803f00000040"
bxc = [
 bx("valid FP32 pair", inp(bt()), [F2], 200),
 bx("blob shorter than binary_data_size", inp(bt()), ["0000803f"], 400),
 bx("blob longer than binary_data_size", inp(bt()), [F2 + "00"], 400, "follow"),
 bx("binary_data_size huge", inp(bt(size=9223372036854775807)), [F2], 400),
 bx("binary_data_size beyond u64", None, [F2], 400, body=None),
 bx("binary_data_size negative", inp(bt(size=-8)), [F2], 400),
 bx("binary_data_size a string", inp(bt(size="8")), [F2], 400),
 bx("binary_data_size not a multiple of 4", inp(bt(shape=[1], size=3)), ["000080"], 400, "x"),
 bx("binary size disagrees with shape", inp(bt(shape=[3], size=8)), [F2], 400, "x"),
 bx("huge shape, small blob", inp(bt(shape=[4294967296, 4294967296], size=8)), [F2], 400),
 bx("data and binary_data_size both", inp(bt(data=[1, 2])), [F2], 400, "x"),
 bx("BYTES length prefix beyond blob", inp(bt(shape=[1], dt="BYTES", size=6)), ["ffffff7f6162"], 400, "x"),
 bx("BYTES length prefix cut short", inp(bt(shape=[1], dt="BYTES", size=3)), ["010000"], 400, "x"),
 bx("BYTES two elements, shape says one", inp(bt(shape=[1], dt="BYTES", size=10)), ["01000000610100000062"], 400, "x"),
 bx("BYTES valid", inp(bt(shape=[2], dt="BYTES", size=10)), ["01000000610100000062"], 200),
 bx("BOOL byte 2", inp(bt(shape=[1], dt="BOOL", size=1)), ["02"], [200, 400]),
 bx("FP16 binary echoed as JSON", inp(bt(shape=[2], dt="FP16", size=4)), ["003c0040"], 400, "FP16"),
 bx("zero-size binary tensor", inp(bt(shape=[0], size=0)), [], 200),
 bx("two tensors, blobs in order", inp(bt("a"), bt("b", shape=[1], dt="INT32", size=4)), [F2, "07000000"], 200),
 bx("second tensor's blob missing", inp(bt("a"), bt("b", shape=[1], dt="INT32", size=4)), [F2], 400),
 bx("header length not a number", inp(bt()), [F2], 400, None, headers={"inference-header-content-length": "abc"}),
 bx("header length negative", inp(bt()), [F2], 400, None, headers={"inference-header-content-length": "-1"}),
 bx("header length beyond body", inp(bt()), [F2], 400, None, headers={"inference-header-content-length": "100000"}),
 bx("header length beyond u64", inp(bt()), [F2], 400, None, headers={"inference-header-content-length": "18446744073709551616"}),
 bx("header length zero", inp(bt()), [F2], 400, None, headers={"inference-header-content-length": "0"}),
 bx("header length cuts the JSON", inp(bt()), [F2], 400, None, headers={"inference-header-content-length": "20"}),
 bx("header length with spaces", inp(bt()), [F2], [200, 400], None, headers=[["inference-header-content-length", " 1 "]]),
 bx("binary output requested", {"inputs": [bt()], "outputs": [{"name": "x", "parameters": {"binary_data_output": True}}]}, [F2], 200),
 bx("binary_data_output on unknown output", {"inputs": [bt()], "outputs": [{"name": "y", "parameters": {"binary_data_output": True}}]}, [F2], 400, "y"),
 bx("JSON head not JSON", None, [F2], 400),
 bx("binary tensor with unknown datatype", inp(bt(dt="F32")), [F2], 400, "F32"),
 bx("INT64 binary, size 12", inp(bt(shape=[2], dt="INT64", size=12)), ["000000000000000000000000"], 400, "x"),
]
bxc[4]["binary"]["json"] = None
bxc[4]["body_parts"] = ['{"inputs":[{"name":"x","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":18446744073709551616}}]}']
bxc[4]["headers"] = {"inference-header-content-length": str(len(bxc[4]["body_parts"][0])), "content-type": "application/octet-stream"}
del bxc[4]["binary"]
bxc[29]["body"] = '{"inputs": [ }'
bxc[29]["headers"] = {"inference-header-content-length": "14"}
del bxc[29]["binary"]
for c in bxc: c.pop("body", None) if c.get("body") is None else None
w("binary.jsonl", bxc)

# ---- V1
P = "/v1/models/echo:predict"
def v1(name, body, status, err=None, path=P, **kw):
    return v2(name, body, status, err, path=path, **kw)
v1c = [
 v1("empty body", "", 400),
 v1("not JSON", "instances", 400),
 v1("neither instances nor inputs", {"data": [1]}, 400, "instances"),
 v1("both instances and inputs", {"instances": [1], "inputs": [1]}, 400),
 v1("instances not a list", {"instances": 5}, 400, "instances"),
 v1("instances empty", {"instances": []}, 400),
 v1("instances ragged", {"instances": [[1, 2], [3]]}, 400),
 v1("instances mixed number and string", {"instances": [1, "a"]}, 400),
 v1("instances mixed number and bool", {"instances": [1, True]}, 400),
 v1("instances with null", {"instances": [1, None]}, 400),
 v1("instances objects with different keys", {"instances": [{"a": 1}, {"b": 2}]}, 400),
 v1("instances objects of mixed types", {"instances": [{"a": 1}, {"a": "x"}]}, 400),
 v1("instances nested objects", {"instances": [{"a": {"b": 1}}]}, 400),
 v1("instances valid numbers", {"instances": [[1, 2], [3, 4]]}, 200, None, expect_body="predictions"),
 v1("instances unicode strings", {"instances": ["żółw", "🐢"]}, 200, None, expect_body="🐢"),
 v1("instances booleans", {"instances": [True, False]}, 200),
 v1("instances integer beyond i64", {"instances": [18446744073709551615]}, [200, 400]),
 v1("instances integer beyond u64", {"instances": [18446744073709551616]}, [200, 400]),
 v1("instances 1e400", "{\"instances\":[1e400]}", 400),
 v1("instances NaN strings", {"instances": ["NaN", "Infinity"]}, 200),
 v1("instances bare NaN token", "{\"instances\":[NaN]}", 400),
 v1("instances nesting 65 deep", None, 400, "nested", body_parts=["{\"instances\":", {"repeat": "[", "n": 65}, "1", {"repeat": "]", "n": 65}, "}"]),
 v1("instances nesting 100000 deep", None, 400, None, body_parts=["{\"instances\":", {"repeat": "[", "n": 100000}, "1", {"repeat": "]", "n": 100000}, "}"]),
 v1("inputs columnar object", {"inputs": {"a": [1, 2], "b": [3, 4]}}, 200, None, expect_body="outputs"),
 v1("inputs columnar ragged", {"inputs": {"a": [[1], [2, 3]]}}, 400),
 v1("inputs empty object: no tensors, no outputs (lenient)", {"inputs": {}}, 200, None, expect_body="outputs"),
 v1("inputs null", {"inputs": None}, 400),
 v1("unknown model", {"instances": [1]}, 404, "nosuch", path="/v1/models/nosuch:predict"),
 v1("empty model name", {"instances": [1]}, [400, 404], None, path="/v1/models/:predict"),
 v1("unknown verb", {"instances": [1]}, [400, 404], None, path="/v1/models/echo:classify"),
 v1("GET on predict", "", 405, None, method="GET"),
 v1("simple over V1 with wrong inputs", {"instances": [[1, 2]]}, 400, None, path="/v1/models/simple:predict"),
 v1("simple over V1 columnar INT32", {"inputs": {"INPUT0": [[1]*16], "INPUT1": [[1]*16]}}, 200, None, path="/v1/models/simple:predict"),
 v1("explain on a model without an explainer", {"instances": [1]}, [200, 400, 404, 501], None, path="/v1/models/echo:explain"),
 v1("duplicate instances key: the last wins, as serde_json reads", "{\"instances\":[1],\"instances\":[2]}", 200, None, expect_body="[2]"),
 v1("one million instances", None, 200, None, body_parts=["{\"instances\":[", {"repeat": "1,", "n": 999999}, "1]}"]),
]
for c in v1c:
    if "body" in c and c["body"] is None: del c["body"]
    if "body_json" in c and c["body_json"] is None: del c["body_json"]
    if "expect_body" in c: c["expect"]["body"] = c.pop("expect_body")
    if c.get("method") == "GET": c.pop("headers", None)
w("v1.jsonl", v1c)

# ---- raw HTTP/1.1 on the wire (the fast path sees these first)
OKB = '{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]}'
def raw(name, text, status, shutdown=False, **exp):
    c = {"name": name, "raw": text, "expect": {"status": status}}
    c["expect"].update(exp)
    if shutdown: c["shutdown"] = True
    return c
H = "POST /v2/models/echo/infer HTTP/1.1\r\nhost: x\r\n"
L = len(OKB)
wirec = [
 raw("baseline", H + f"content-length: {L}\r\n\r\n" + OKB, 200),
 raw("Content-Length larger than the body, client half-closes", H + "content-length: 1000\r\n\r\n" + OKB, [400, "closed"], True),
 raw("Content-Length 99999999999", H + "content-length: 99999999999\r\n\r\n" + OKB, [413, "closed"], True),
 raw("Content-Length beyond u64", H + "content-length: 99999999999999999999999\r\n\r\n" + OKB, [400, "closed"]),
 raw("Content-Length negative", H + "content-length: -1\r\n\r\n" + OKB, [400, "closed"]),
 raw("Content-Length with a plus sign", H + f"content-length: +{L}\r\n\r\n" + OKB, [400, "closed"]),
 raw("Content-Length hex", H + "content-length: 0x10\r\n\r\n" + OKB, [400, "closed"]),
 raw("Content-Length empty", H + "content-length: \r\n\r\n" + OKB, [400, "closed"]),
 raw("two different Content-Lengths", H + f"content-length: {L}\r\ncontent-length: 5\r\n\r\n" + OKB, [400, "closed"]),
 raw("two equal Content-Lengths", H + f"content-length: {L}\r\ncontent-length: {L}\r\n\r\n" + OKB, [200, 400]),
 raw("Content-Length list", H + f"content-length: {L}, {L}\r\n\r\n" + OKB, [200, 400]),
 raw("Content-Length and chunked", H + f"content-length: 5\r\ntransfer-encoding: chunked\r\n\r\n{L:x}\r\n{OKB}\r\n0\r\n\r\n", [200, 400, "closed"]),
 raw("chunked body", H + f"transfer-encoding: chunked\r\n\r\n{L:x}\r\n{OKB}\r\n0\r\n\r\n", 200),
 raw("chunk size not hex", H + "transfer-encoding: chunked\r\n\r\nzz\r\n" + OKB + "\r\n0\r\n\r\n", [400, "closed"]),
 raw("chunk size beyond u64", H + "transfer-encoding: chunked\r\n\r\nfffffffffffffffffff\r\n" + OKB + "\r\n0\r\n\r\n", [400, 413, "closed"]),
 raw("chunk size huge, client half-closes", H + "transfer-encoding: chunked\r\n\r\nffffffffff\r\n" + OKB, [400, 413, "closed"], True),
 raw("transfer-encoding gzip", H + "transfer-encoding: gzip\r\n\r\n" + OKB, [400, 501, "closed"]),
 raw("transfer-encoding chunked twice", H + "transfer-encoding: chunked, chunked\r\n\r\n0\r\n\r\n", [400, "closed"]),
 raw("obs-fold header", H + f"content-length: {L}\r\nx-a: 1\r\n  continued\r\n\r\n" + OKB, [400, "closed"]),
 raw("bare LF line ends", H.replace("\r\n", "\n") + f"content-length: {L}\n\n" + OKB, [200, 400]),
 raw("NUL in a header value", H + f"content-length: {L}\r\nx-a: a\u0000b\r\n\r\n" + OKB, [400, "closed"]),
 raw("header without a colon", H + f"content-length: {L}\r\nnocolon\r\n\r\n" + OKB, [400, "closed"]),
 raw("space before the colon", H + f"content-length : {L}\r\n\r\n" + OKB, [400, "closed"]),
 dict(raw("20 KiB header", None, [200, 431]), raw=None, raw_parts=[H + "x-big: ", {"repeat": "a", "n": 20480}, f"\r\ncontent-length: {L}\r\n\r\n" + OKB]),
 dict(raw("200 KiB header (hyper takes heads to ~400 KiB)", None, [200, 431, "closed"]), raw=None, raw_parts=[H + "x-big: ", {"repeat": "a", "n": 204800}, f"\r\ncontent-length: {L}\r\n\r\n" + OKB]),
 raw("200 headers", H + "".join(f"x-h{i}: v\r\n" for i in range(200)) + f"content-length: {L}\r\n\r\n" + OKB, [431, 400, "closed"]),
 raw("garbage request line", "HELLO\r\n\r\n", [400, "closed"]),
 raw("HTTP/1.0 request", f"POST /v2/models/echo/infer HTTP/1.0\r\ncontent-length: {L}\r\n\r\n" + OKB, 200),
 raw("HTTP/2.0 in an HTTP/1 request line", "GET /v2/health/live HTTP/2.0\r\n\r\n", [400, 505, "closed"]),
 raw("HTTP/1.1 without host", f"POST /v2/models/echo/infer HTTP/1.1\r\ncontent-length: {L}\r\n\r\n" + OKB, [200, 400]),
 raw("unknown method", "BREW /v2/health/live HTTP/1.1\r\nhost: x\r\n\r\n", 405),
 raw("absolute-form target", f"POST http://x/v2/models/echo/infer HTTP/1.1\r\nhost: x\r\ncontent-length: {L}\r\n\r\n" + OKB, 200),
 raw("asterisk target", "OPTIONS * HTTP/1.1\r\nhost: x\r\n\r\n", [400, 404, 405]),
 raw("percent-encoded NUL in the path", "GET /v2/models/a%00b HTTP/1.1\r\nhost: x\r\n\r\n", [400, 404]),
 dict(raw("path of 16 KiB", None, [404, 414, 431]), raw=None, raw_parts=["GET /", {"repeat": "a", "n": 16384}, " HTTP/1.1\r\nhost: x\r\n\r\n"]),
 raw("Expect 100-continue", H + f"expect: 100-continue\r\ncontent-length: {L}\r\n\r\n" + OKB, [100, 200]),
 raw("only CRLF then close", "\r\n\r\n", [400, "closed"], True),
 raw("nothing then close", "", ["closed"], True),
 raw("head cut short then close", "POST /v2/models/echo/in", [400, "closed"], True),
 raw("h2c upgrade on a POST", H + f"connection: Upgrade, HTTP2-Settings\r\nupgrade: h2c\r\nhttp2-settings: AAMAAABkAAQAAP__\r\ncontent-length: {L}\r\n\r\n" + OKB, [200, 101]),
 raw("pipelined: the first answer comes", H + f"content-length: {L}\r\n\r\n" + OKB + H + f"content-length: {L}\r\n\r\n" + OKB, 200),
 raw("pipelined: a bad second request after a good one", H + f"content-length: {L}\r\n\r\n" + OKB + "GARBAGE\r\n\r\n", 200),
 raw("GET with a body", f"GET /v2/health/live HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\nhello", 200),
 raw("tab inside a header value", H + f"content-length: {L}\r\nx-a: a\tb\r\n\r\n" + OKB, 200),
 raw("non-ASCII header value", H + f"content-length: {L}\r\nx-a: żółw\r\n\r\n" + OKB, [200, 400]),
 raw("connection close", H + f"connection: close\r\ncontent-length: {L}\r\n\r\n" + OKB, 200),
]
w("http_wire.jsonl", wirec)

# ---- gRPC
def g(name, msg, code, message=None, **kw):
    c = {"name": name, "message": msg, "expect": {"code": code}}
    if message: c["expect"]["message"] = message
    c.update(kw); return c
def gi(name="x", dt="FP32", shape=[2], contents=None, **kw):
    d = {"name": name, "datatype": dt, "shape": shape}
    if contents is not None: d["contents"] = contents
    d.update(kw); return d
def em(*ins, **kw):
    d = {"model_name": "echo", "inputs": list(ins)}; d.update(kw); return d
FP = {"fp32": [1.5, 2.5]}
grpcc = [
 g("baseline echo", em(gi(contents=FP)), "Ok"),
 g("baseline simple", {"model_name": "simple", "inputs": [gi("INPUT0", "INT32", [1, 16], {"int": [1]*16}), gi("INPUT1", "INT32", [1, 16], {"int": [2]*16})]}, "Ok"),
 g("unknown model", em(gi(contents=FP), model_name="nosuch"), "NotFound", "nosuch"),
 g("empty model name", em(gi(contents=FP), model_name=""), "NotFound"),
 g("unicode model name", em(gi(contents=FP), model_name="żółw🐢"), "NotFound"),
 g("unknown version", em(gi(contents=FP), model_version="7"), "NotFound"),
 g("no inputs: echo answers no outputs", em(), "Ok"),
 g("unknown datatype", em(gi(dt="FLOAT", contents=FP)), "InvalidArgument", "FLOAT"),
 g("empty datatype", em(gi(dt="", contents=FP)), "InvalidArgument"),
 g("negative dimension", em(gi(shape=[-2], contents=FP)), "InvalidArgument"),
 g("huge shape, two values", em(gi(shape=[4294967296, 4294967296], contents=FP)), "InvalidArgument"),
 g("shape product overflows", em(gi(shape=[9223372036854775807, 9223372036854775807], contents=FP)), "InvalidArgument"),
 g("contents count disagrees with shape", em(gi(shape=[3], contents=FP)), "InvalidArgument", "x"),
 g("contents of the wrong family", em(gi(dt="INT32", contents={"int64": [1, 2]})), "InvalidArgument", "x"),
 g("two content families", em(gi(contents={"fp32": [1, 2], "int": [1, 2]})), "InvalidArgument", "x"),
 g("no contents and no raw", em(gi()), "InvalidArgument", "x"),
 g("INT8 value beyond range", em(gi(dt="INT8", shape=[1], contents={"int": [300]})), "InvalidArgument", "x"),
 g("UINT8 value beyond range", em(gi(dt="UINT8", shape=[1], contents={"uint": [256]})), "InvalidArgument", "x"),
 g("FP16 in contents", em(gi(dt="FP16", shape=[1], contents={"fp32": [1.0]})), "InvalidArgument"),
 g("NaN and infinities in FP32 contents", em(gi(shape=[3], contents={"fp32": ["NaN", "Infinity", "-Infinity"]})), "Ok"),
 g("duplicate input names", em(gi(contents=FP), gi(contents=FP)), "InvalidArgument", "x"),
 g("raw and contents both", em(gi(contents=FP), raw_hex=["0000803f00000040"]), "InvalidArgument"),
 g("raw count beyond inputs", em(gi(), raw_hex=["0000803f00000040", "00"]), "InvalidArgument"),
 g("raw count short of inputs", em(gi("a"), gi("b"), raw_hex=["0000803f00000040"]), "InvalidArgument"),
 g("raw size not a multiple of 4", em(gi(shape=[1]), raw_hex=["000080"]), "InvalidArgument", "x"),
 g("raw size disagrees with shape", em(gi(shape=[3]), raw_hex=["0000803f00000040"]), "InvalidArgument", "x"),
 g("raw with a huge shape", em(gi(shape=[4294967296, 4294967296]), raw_hex=["0000803f00000040"]), "InvalidArgument"),
 g("raw BYTES length prefix beyond data", em(gi(dt="BYTES", shape=[1]), raw_hex=["ffffff7f61"]), "InvalidArgument", "x"),
 g("raw BYTES valid", em(gi(dt="BYTES", shape=[2]), raw_hex=["01000000610100000062"]), "Ok"),
 g("unknown output requested", em(gi(contents=FP), outputs=[{"name": "nope"}]), "InvalidArgument", "nope"),
 g("binary_data_output a string is ignored (lenient)", em(gi(contents=FP), outputs=[{"name": "x", "parameters": {"binary_data_output": "yes"}}]), "Ok"),
 g("request parameters of every kind", em(gi(contents=FP), parameters={"a": True, "b": 1, "c": "s", "d": 1.5, "e": 18446744073709551615}), "Ok"),
 g("unicode tensor name", em(gi(name="字", contents=FP)), "Ok"),
 g("simple with INT64 contents", {"model_name": "simple", "inputs": [gi("INPUT0", "INT64", [1, 16], {"int64": [1]*16}), gi("INPUT1", "INT64", [1, 16], {"int64": [1]*16})]}, "InvalidArgument", "INPUT0"),
 g("message bytes that are not protobuf", None, ["Internal", "InvalidArgument"], message_hex="ffffffffffffffffffff"),
 g("truncated varint", None, ["Internal", "InvalidArgument"], message_hex="0a80"),
 g("string field with invalid UTF-8", None, ["Internal", "InvalidArgument"], message_hex="0a02ffff"),
 g("field length beyond the message", None, ["Internal", "InvalidArgument"], message_hex="2aff0f0a"),
 g("a million dimensions in a shape (the error message is cut)", em(gi(shape_fill=[1, 1000000], contents=FP)), "InvalidArgument"),
 g("prefix declares 4 GiB, body is short", em(gi(contents=FP)), ["ResourceExhausted", "Internal", "Cancelled", "Unknown"], prefix_len_extra=4294967000),
 g("prefix declares 10 bytes more than sent", em(gi(contents=FP)), ["Internal", "Cancelled", "Unknown", "InvalidArgument"], prefix_len_extra=10),
 g("compressed flag without an encoding", em(gi(contents=FP)), ["Internal", "Unimplemented"], prefix_flag=1),
 g("flag byte 2", em(gi(contents=FP)), ["Internal", "Unimplemented", "InvalidArgument"], prefix_flag=2),
 g("empty body: no frame", None, ["Internal", "Unimplemented", "InvalidArgument", "Unknown", "Cancelled"], message_hex="", prefix_hex=""),
 g("three bytes of a prefix", None, ["Internal", "Unimplemented", "InvalidArgument", "Unknown", "Cancelled"], message_hex="", prefix_hex="000000"),
 g("unknown RPC", em(), "Unimplemented", rpc="ModelTrain"),
 g("ModelMetadata of an unknown model", None, "NotFound", rpc="ModelMetadata", message_hex="0a056e6f70656e"),
 g("ModelReady with garbage bytes", None, ["Internal", "InvalidArgument"], rpc="ModelReady", message_hex="0aff"),
]
for c in grpcc:
    if c["message"] is None: del c["message"]
w("grpc.jsonl", grpcc)

# ---- model config.toml (the predictor refuses to start, naming the file and the key)
def mc(name, toml, frag, **kw):
    c = {"name": name, "binary": "infergate-predictor", "args": ["--model_dir", "{dir}"],
         "files": {"m/config.toml": toml}, "copy": {"m/model.onnx": "models/mlp/model.onnx"},
         "expect": {"exit": 1, "stderr": frag}}
    c.update(kw); return c
mcc = [
 mc("not TOML", "max_batch_size = = 3", "config.toml"),
 mc("unknown key", "max_batchsize = 4", "max_batchsize"),
 mc("wrong type", 'max_batch_size = "x"', "max_batch_size"),
 mc("negative batch size", "max_batch_size = -1", "max_batch_size"),
 mc("batch size beyond u64", "max_batch_size = 18446744073709551616", "config.toml"),
 mc("float batch size", "max_batch_size = 1.5", "max_batch_size"),
 mc("batching with max_batch_size 0", "max_batch_size = 0\n[dynamic_batching]\n", "max_batch_size"),
 mc("preferred size beyond max", "max_batch_size = 4\n[dynamic_batching]\npreferred_batch_size = [8]\n", "preferred_batch_size"),
 mc("preferred size 0", "max_batch_size = 4\n[dynamic_batching]\npreferred_batch_size = [0]\n", "preferred_batch_size"),
 mc("queue size 0", "[dynamic_batching]\nmax_queue_size = 0\n", "max_queue_size"),
 mc("unknown key in dynamic_batching", "[dynamic_batching]\nmax_queue_delay = 5\n", "max_queue_delay"),
 mc("dynamic_batching not a table", "dynamic_batching = 5", "dynamic_batching"),
 mc("version_policy latest 0", "version_policy = { latest = 0 }", "latest"),
 mc("version_policy specific empty", "version_policy = { specific = [] }", "specific"),
 mc("version_policy unknown kind", "version_policy = { newest = 1 }", "newest"),
 mc("version_policy two kinds", "version_policy = { latest = 1, all = true }", "version_policy"),
 mc("instance_count 0", "instance_count = 0", "instance_count"),
 mc("input override without shape", "[inputs.x]\ndims = [1]\n", "dims"),
 mc("input override shape of strings", "[inputs.x]\nshape = [\"a\"]\n", "shape"),
 mc("override of an input the model lacks", "[inputs.nosuch]\nshape = [1, 4]\n", "nosuch"),
 mc("unicode garbage", "żółw = 🐢", "config.toml"),
 mc("deeply nested tables", "[a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z]\nx = 1\n", "config.toml"),
 mc("deeply nested inline arrays", "max_batch_size = " + "[" * 200 + "]" * 200, "config.toml"),
 mc("NUL byte in the file", "max_batch_size = 4\u0000", "config.toml"),
 mc("v1_output not a string", "v1_output = 3", "v1_output"),
 mc("name not a string", "name = [1]", "name"),
]
w("modelconfig.jsonl", mcc)

# ---- transformer config (--transformer_config): infergate refuses to start
def tc(name, toml, frag, **kw):
    c = {"name": name, "args": ["--transformer_config", "{dir}/t.toml", "--predictor_host", "127.0.0.1:9"],
         "files": {"t.toml": toml}, "expect": {"exit": 1, "stderr": frag}}
    c.update(kw); return c
tcc = [
 tc("not TOML", "[[preprocess]\nop = 1", "t.toml"),
 tc("unknown top-level key", "steps = []", "steps"),
 tc("unknown op", "[[preprocess]]\nop = \"normalize\"\n", "normalize"),
 tc("op missing", "[[preprocess]]\ntensor = \"x\"\n", "op"),
 tc("rename missing 'to'", "[[preprocess]]\nop = \"rename\"\nfrom = \"a\"\n", "to"),
 tc("cast to an unknown datatype", "[[preprocess]]\nop = \"cast\"\ntensor = \"x\"\ndatatype = \"FLOAT\"\n", "FLOAT"),
 tc("reshape with a string shape", "[[preprocess]]\nop = \"reshape\"\ntensor = \"x\"\nshape = \"1,2\"\n", "t.toml"),
 tc("scale with a string mean", "[[preprocess]]\nop = \"scale\"\ntensor = \"x\"\nmean = \"0\"\n", "t.toml"),
 tc("labels not a list", "[[postprocess]]\nop = \"labels\"\ntensor = \"x\"\nlabels = \"a\"\n", "t.toml"),
 tc("pick in postprocess", "[[postprocess]]\nop = \"pick\"\nfields = [\"a\"]\nname = \"x\"\n", "pick"),
 tc("pick after a tensor step", "[[preprocess]]\nop = \"rename\"\nfrom = \"a\"\nto = \"b\"\n[[preprocess]]\nop = \"pick\"\nfields = [\"a\"]\nname = \"x\"\n", "pick"),
 tc("unknown field in a step", "[[preprocess]]\nop = \"rename\"\nfrom = \"a\"\nto = \"b\"\nextra = 1\n", "extra"),
 tc("preprocess not a list of tables", "preprocess = 5", "preprocess"),
 tc("unicode garbage", "żółw = 🐢", "t.toml"),
 tc("NUL byte in the file", "[[preprocess]]\u0000", "t.toml"),
 tc("a file that does not exist", "", "nosuch.toml", args=["--transformer_config", "{dir}/nosuch.toml", "--predictor_host", "127.0.0.1:9"]),
 tc("a directory, not a file", "", "cannot read", args=["--transformer_config", "{dir}", "--predictor_host", "127.0.0.1:9"]),
 tc("top_k with a negative k", "[[postprocess]]\nop = \"top_k\"\ntensor = \"x\"\nk = -1\n", "t.toml"),
]
w("transformerconfig.jsonl", tcc)

# ---- command line
def cl(name, args, frag, exitc=None, binary="infergate", **kw):
    c = {"name": name, "binary": binary, "args": args, "expect": {"stderr": frag}}
    if exitc is not None: c["expect"]["exit"] = exitc
    c.update(kw); return c
clc = [
 cl("http_port not a number", ["--http_port", "eighty"], "http_port", 2, ports=False),
 cl("http_port beyond 65535", ["--http_port", "70000"], "http_port", 2, ports=False),
 cl("grpc_port negative", ["--grpc_port", "-1"], "-1", 2, ports=False),
 cl("unknown builtin model", ["--builtin_models", "nosuch"], "nosuch"),
 cl("max_connections not a number", ["--max_connections", "many"], "max_connections", 2),
 cl("body_read_timeout_seconds negative", ["--body_read_timeout_seconds", "-5"], "-5", 2),
 cl("grpc receive limit not a number", ["--grpc_max_receive_message_length", "1e9x"], "grpc_max_receive_message_length", 2),
 cl("model_dir missing", ["--model_dir", "/nonexistent/models"], "/nonexistent/models"),
 cl("storage_uri with an unknown scheme", ["--storage_uri", "ftp://x/y"], "ftp"),
 cl("bind address not an address", ["--bind_address", "not-an-ip", "--http_port", "0", "--grpc_port", "0"], "not-an-ip", ports=False),
 cl("http1_fast_path not a bool", ["--http1_fast_path", "perhaps"], "http1_fast_path", 2),
 cl("predictor: model_dir missing", ["--model_dir", "/nonexistent/models"], "/nonexistent/models", 1, binary="infergate-predictor"),
 cl("predictor: neither model_dir nor storage_uri", [], "model_dir", 1, binary="infergate-predictor"),
 cl("predictor: http_port not a number", ["--http_port", "x"], "http_port", 2, binary="infergate-predictor", ports=False),
 cl("predictor: model file that is not ONNX", ["--model_dir", "{dir}"], "m", 1, binary="infergate-predictor", files={"m/model.onnx": "not onnx"}),
 cl("predictor: empty model directory", ["--model_dir", "{dir}/empty"], "empty", 1, binary="infergate-predictor", files={"empty/.keep": ""}),
 cl("config file that does not exist", ["--config", "/nonexistent/infergate.toml"], "/nonexistent/infergate.toml"),
 cl("config file not TOML", ["--config", "{dir}/c.toml"], "c.toml", files={"c.toml": "http_port = = 1"}),
]
w("cli.jsonl", clc)
