#!/usr/bin/env bash
# The main job: builds infergate and serves the example models (iris, a text
# intent classifier, an MLP) with its embedded ONNX Runtime predictor on
# localhost:8080 (REST) and :8081 (gRPC), printing how to call them.
# Installs what it needs (the onnxruntime wheel that carries the ONNX Runtime
# library, into .venv); safe to run again. Stop with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

HTTP_PORT=${HTTP_PORT:-8080}
GRPC_PORT=${GRPC_PORT:-8081}
bash scripts/venv.sh requirements.txt
source scripts/lib.sh; need_apt cmake # pingora (infergate proxy) needs cmake to build
echo "==> building infergate (release)"
cargo build --release --quiet --bin infergate

cat <<MSG

infergate serves models/ (sklearn-iris, intent, mlp) and the built-in
'simple' and 'echo' models. Try, from another terminal:

  curl -H 'Content-Type: application/json' localhost:$HTTP_PORT/v1/models/sklearn-iris:predict \\
       -d '{"instances": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]}'
  # -> {"predictions":[1,1]}
  curl -H 'Content-Type: application/json' localhost:$HTTP_PORT/v1/models/intent:predict \\
       -d '{"instances": ["I want to book a flight", "will it rain tomorrow"]}'
  # -> {"predictions":["book_flight","weather"]}
  curl localhost:$HTTP_PORT/v2/models/sklearn-iris
  .venv/bin/grpcurl -plaintext localhost:$GRPC_PORT list

MSG
exec ./target/release/infergate --model_dir models --builtin_models simple,echo \
  --http_port "$HTTP_PORT" --grpc_port "$GRPC_PORT"
