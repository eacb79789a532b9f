"""Cosine similarity of infergate's MiniLM embeddings (int8 ONNX export) to
sentence-transformers' on the original weights, over the parity sentences of
tests/python/text_parity.py.

    cosine.py URL ST_MODEL_DIR      (run with the peers' .venv-text python)

URL is infergate's V1 predict endpoint of the MiniLM model. Prints one
Markdown line: sentences, min / mean / max cosine.
"""
import json
import pathlib
import sys
import urllib.request

import numpy as np
from sentence_transformers import SentenceTransformer

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "tests" / "python"))
from text_parity import SENTENCES  # noqa: E402


def served(url: str, texts: list[str]) -> np.ndarray:
    body = json.dumps({"instances": texts}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return np.asarray(json.load(resp)["predictions"], dtype=np.float32)


def main(url: str, st_dir: str) -> None:
    ours = np.concatenate([served(url, SENTENCES[i : i + 8]) for i in range(0, len(SENTENCES), 8)])
    st = SentenceTransformer(st_dir, device="cpu", local_files_only=True)
    theirs = st.encode(SENTENCES, normalize_embeddings=True)
    # Both are L2-normalised; normalise again in case an empty text is not.
    ours /= np.maximum(np.linalg.norm(ours, axis=1, keepdims=True), 1e-12)
    theirs /= np.maximum(np.linalg.norm(theirs, axis=1, keepdims=True), 1e-12)
    cos = (ours * theirs).sum(axis=1)
    worst = SENTENCES[int(cos.argmin())][:40]
    print(
        f"Cosine similarity to sentence-transformers (original weights), {len(SENTENCES)} sentences: "
        f"min {cos.min():.4f} (\"{worst}\"), mean {cos.mean():.4f}, max {cos.max():.4f}."
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
