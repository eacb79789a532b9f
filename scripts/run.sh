#!/usr/bin/env bash
# The main job: builds infergate and serves the example models on
# localhost:8080 (REST) and :8081 (gRPC), printing how to call them.
# Installs what it needs; safe to run again. Stop with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

HTTP_PORT=${HTTP_PORT:-8080}
GRPC_PORT=${GRPC_PORT:-8081}
echo "==> building infergate (release)"
cargo build --release --quiet --bin infergate

cat <<MSG

infergate serves the built-in models 'simple' (Triton's example: sum and
difference of two INT32 tensors) and 'echo' (returns its inputs).
Try, from another terminal:

  curl localhost:$HTTP_PORT/v2/health/ready
  curl localhost:$HTTP_PORT/v1/models
  curl -H 'Content-Type: application/json' localhost:$HTTP_PORT/v1/models/echo:predict \\
       -d '{"instances": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]}'
  curl -H 'Content-Type: application/json' localhost:$HTTP_PORT/v2/models/simple/infer \\
       -d '{"inputs": [{"name": "INPUT0", "shape": [1, 4], "datatype": "INT32", "data": [1, 2, 3, 4]},
                       {"name": "INPUT1", "shape": [1, 4], "datatype": "INT32", "data": [10, 20, 30, 40]}]}'
  .venv/bin/grpcurl -plaintext localhost:$GRPC_PORT list   # after scripts/test.sh made .venv

MSG
exec ./target/release/infergate --builtin_models simple,echo --http_port "$HTTP_PORT" --grpc_port "$GRPC_PORT"
