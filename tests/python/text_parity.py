"""Embeddings of a served MiniLM model against Python's own pipeline.

Usage:
  text_parity.py prepare DIR     model repository DIR/repo/minilm/model.onnx and DIR/tokenizer.json
  text_parity.py check URL DIR MAX_LENGTH BATCH
      posts the sentences to URL (V2 infer, BYTES tensor `text`) BATCH at a
      time and compares each answer's `embedding` with onnxruntime + tokenizers
      + numpy mean pooling on the same batch; exits 1 if any element differs
      by more than 1e-5.
"""
import json
import os
import shutil
import sys
import urllib.request

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import text_model  # noqa: E402

LONG = " ".join(["The quick brown fox jumps over the lazy dog near the riverbank."] * 60)
SENTENCES = [
    "",
    " ",
    "Hello world",
    "hello WORLD!!!",
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "A man is riding a white horse on an enclosed ground.",
    "A monkey is playing drums.",
    "Someone in a gorilla costume is playing a set of drums.",
    "Kubernetes schedules pods onto nodes.",
    "KServe serves machine learning models on Kubernetes.",
    "ONNX Runtime runs the model on the CPU.",
    "The capital of France is Paris.",
    "What is the capital of France?",
    "How do I reset my password?",
    "I forgot my password, how can I change it?",
    "The weather is lovely today.",
    "It's so sunny outside!",
    "He drove to the stadium.",
    "Numbers: 3.14159, 2.71828, 1e-5, 42, -7.",
    "Email me at someone@example.com or visit https://example.com/path?q=1.",
    "Café, naïve, résumé, coöperate, façade.",
    "Straße und Größe in München.",
    "¿Dónde está la biblioteca?",
    "Ça va très bien, merci.",
    "Привет, как дела?",
    "Γειά σου Κόσμε",
    "مرحبا بالعالم",
    "שלום עולם",
    "こんにちは世界",
    "你好，世界！今天天气很好。",
    "안녕하세요 세계",
    "नमस्ते दुनिया",
    "สวัสดีชาวโลก",
    "Emoji 😀🚀🔥 and symbols ∑∫√∞ ≠ ≤",
    "Tabs\tand\nnewlines\r\nin text",
    "Zero\u200bwidth\u200cjoiners\u200d and soft\u00adhyphens",
    "ALL CAPS SENTENCE WITH SHOUTING",
    "mIxEd CaSe TeXt",
    "punctuation... !!! ??? ;;; ::: ---",
    "a",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "The model truncates long inputs to the configured maximum length.",
    "Sentence embeddings map text to dense vectors.",
    "Cosine similarity compares two embeddings.",
    "Padding tokens must not change the mean.",
    LONG,
    LONG.upper(),
    "I love this product, it works great!",
    "This is the worst purchase I have ever made.",
    "Neutral statement about a table.",
]


def prepare(out):
    repo = os.path.join(out, "repo", "minilm")
    os.makedirs(repo, exist_ok=True)
    text_model.with_mask_output(text_model.onnx_path(), os.path.join(repo, "model.onnx"))
    shutil.copy(text_model.tokenizer_path(), os.path.join(out, "tokenizer.json"))


def reference(session, tokenizer, texts):
    enc = tokenizer.encode_batch(texts)
    longest = max(len(e.ids) for e in enc)
    ids = np.zeros((len(texts), longest), np.int64)
    mask = np.zeros_like(ids)
    types = np.zeros_like(ids)
    for i, e in enumerate(enc):
        n = len(e.ids)
        ids[i, :n], mask[i, :n], types[i, :n] = e.ids, e.attention_mask, e.type_ids
    (hidden,) = session.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
    m = mask[:, :, None].astype(np.float32)
    pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
    return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)


def served(url, texts):
    body = {"inputs": [{"name": "text", "shape": [len(texts)], "datatype": "BYTES", "data": texts}]}
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    out = {o["name"]: o for o in json.load(urllib.request.urlopen(req))["outputs"]}
    e = out["embedding"]
    return np.array(e["data"], np.float32).reshape(e["shape"])


def check(url, out, max_length, batch):
    import onnxruntime as ort
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(os.path.join(out, "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length)
    session = ort.InferenceSession(os.path.join(out, "repo", "minilm", "model.onnx"), providers=["CPUExecutionProvider"])
    worst = 0.0
    for at in range(0, len(SENTENCES), batch):
        texts = SENTENCES[at : at + batch]
        got, want = served(url, texts), reference(session, tokenizer, texts)
        if got.shape != want.shape:
            print(f"texts {at}..: shape {got.shape}, Python {want.shape}")
            return 1
        worst = max(worst, float(np.abs(got - want).max()))
    print(f"{len(SENTENCES)} sentences, max abs difference {worst:.3g}")
    return 0 if worst <= 1e-5 else 1


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        prepare(sys.argv[2])
    else:
        sys.exit(check(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])))
