#!/usr/bin/env bash
# The MLP with dynamic batching on and off over each protocol the data plane
# serves (docs/benchmarks.md, "Protocols for the batching comparison"): V2
# binary over HTTP/1.1 and h2, and gRPC, concurrency 64. Servers on cpu 0,
# the generator on cpu 1. Bounded: DURATION (5s) x ROUNDS (2) per target and run.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
DURATION=${DURATION:-5s}
OUT=${OUT:-bench/out/batching-protocols}
source bench/lib.sh

plain=$(mktemp -d); batched=$(mktemp -d)
cp -r models/mlp "$plain/"; cp -r models/mlp "$batched/"
rm -f "$plain/mlp/config.toml" # models/mlp ships batched; this one must not be
printf 'max_batch_size = 64\n[dynamic_batching]\nmax_queue_delay_microseconds = 2000\n' >"$batched/mlp/config.toml"
bench_serve 18700 "$BIN/infergate-predictor" --model_dir "$batched"
bench_serve 18710 "$BIN/infergate-predictor" --model_dir "$plain"
run() { # NAME LOADTEST-ARGS...
  local name=$1; shift
  $LT --rounds "$ROUNDS" -m mlp -c 64 -b 1 --json "$OUT/$name.json" "$@" >/dev/null
}
run http1 batching=v2-binary+http://127.0.0.1:18700 no-batching=v2-binary+http://127.0.0.1:18710
run h2-1 --http2 --h2-connections 1 batching=v2-binary+http://127.0.0.1:18700 no-batching=v2-binary+http://127.0.0.1:18710
run h2-4 --http2 --h2-connections 4 batching=v2-binary+http://127.0.0.1:18700 no-batching=v2-binary+http://127.0.0.1:18710
run grpc-4 --h2-connections 4 batching=grpc://127.0.0.1:18701 no-batching=grpc://127.0.0.1:18711
python3 bench/report.py "$OUT"/http1.json "$OUT"/h2-1.json "$OUT"/h2-4.json "$OUT"/grpc-4.json | tee "$OUT/tables.md"
