#!/usr/bin/env bash
# KServe's agent batcher in the transformer (docs/benchmarks.md, "Transformer
# batcher"): the MLP (256-512-512-10) behind a predictor that does not batch,
# called through an infergate transformer with --enable-batcher and through
# one without, side by side in one run at concurrency 64, one row per request:
#   * infergate-predictor (models/mlp, [dynamic_batching] removed), V1 REST
#     callers and a v1 predictor, then gRPC callers and a grpc-v2 predictor;
#   * KServe's Python sklearn server with an sklearn MLP of the same size
#     (bench/peers/train_mlp.py), V1 callers, v1 predictor.
# Batcher flags: KServe's defaults (--max-batchsize 32) but --max-latency 10
# (the agent's 5000 ms default makes the p99 bound meaningless). For the p99
# bound, "batch compute" is the predictor's own p50 for one 32-row request
# at concurrency 1. All servers on cpu 0 (one tokio worker / one ORT thread
# each), the generator on cpu 1. Bounded: DURATION (10s) x ROUNDS (2).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
OUT=${OUT:-bench/out/batcher}
source bench/lib.sh
bash bench/peers/install.sh >&2

onnx=$(mktemp -d); skl=$(mktemp -d)
cp -r models/mlp "$onnx/"; rm -f "$onnx/mlp/config.toml" # no batching of its own
"$PEERS_HOME/.venv-kserve/bin/python" bench/peers/train_mlp.py "$skl/mlp" >/dev/null
bench_serve 18800 "$BIN/infergate-predictor" --model_dir "$onnx"
PEER_CPUS=$SERVER_CPU peer_start kserve mlp "$skl/mlp" 18830 18831 --enable_latency_logging false
BATCH=(--enable-batcher --max-latency 10)
bench_serve 18810 "$BIN/infergate" --model_name mlp --predictor_host 127.0.0.1:18800
bench_serve 18820 "$BIN/infergate" --model_name mlp --predictor_host 127.0.0.1:18800 "${BATCH[@]}"
bench_serve 18840 "$BIN/infergate" --model_name mlp --predictor_host 127.0.0.1:18830
bench_serve 18850 "$BIN/infergate" --model_name mlp --predictor_host 127.0.0.1:18830 "${BATCH[@]}"
bench_serve 18860 "$BIN/infergate" --model_name mlp --predictor_host 127.0.0.1:18801 --predictor_protocol grpc-v2
bench_serve 18870 "$BIN/infergate" --model_name mlp --predictor_host 127.0.0.1:18801 --predictor_protocol grpc-v2 "${BATCH[@]}"

python3 - "$OUT" <<'PY'
import json, random, sys
random.seed(7)
row = lambda: [round(random.uniform(-1, 1), 4) for _ in range(256)]
json.dump({"instances": [row()]}, open(f"{sys.argv[1]}/mlp-1.json", "w"))
json.dump({"instances": [row() for _ in range(32)]}, open(f"{sys.argv[1]}/mlp-32.json", "w"))
PY
# Batch compute: one 32-row request straight to each predictor.
$LT -m mlp -c 1 --input-data "$OUT/mlp-32.json" --json "$OUT/batch32.json" \
  infergate-predictor=v1+http://127.0.0.1:18800 kserve-sklearn=v1+http://127.0.0.1:18830 >/dev/null
run() { # NAME TARGET...
  local name=$1; shift
  $LT --rounds "$ROUNDS" -m mlp -c 64 --input-data "$OUT/mlp-1.json" --json "$OUT/$name.json" "$@" >/dev/null
}
run infergate-v1 batcher=v1+http://127.0.0.1:18820 no-batcher=v1+http://127.0.0.1:18810
run infergate-grpc batcher=grpc://127.0.0.1:18871 no-batcher=grpc://127.0.0.1:18861
run kserve-v1 batcher=v1+http://127.0.0.1:18850 no-batcher=v1+http://127.0.0.1:18840
{
  python3 bench/report.py "$OUT"/infergate-v1.json "$OUT"/infergate-grpc.json "$OUT"/kserve-v1.json
  python3 bench/transformer/batcher_summary.py "$OUT" 10
} | tee "$OUT/tables.md"
python3 bench/update_docs.py batcher "$OUT"
