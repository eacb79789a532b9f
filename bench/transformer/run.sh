#!/usr/bin/env bash
# infergate as a transformer against KServe's Python transformer, side by
# side in one run (docs/benchmarks.md): the same predictor
# (infergate-predictor serving the iris model), the same V1 request, called
# directly and through each transformer (identity pre/post, V1 to the
# predictor), at concurrency 1 and 64. Servers on cpu 0, generator on cpu 1.
# Bounded: DURATION (default 10s) per target and round, ROUNDS (2).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-2}
OUT=${OUT:-bench/out/transformer}
mkdir -p "$OUT"
source scripts/lib.sh
source bench/peers/lib.sh
need_apt curl

bash scripts/venv.sh requirements.txt
bash bench/peers/install.sh >&2
cargo build --release --quiet --bins
BIN=target/release
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  peer_stop_all
}
trap cleanup EXIT

wait_ready() {
  for _ in $(seq 200); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/v2/health/ready")" = 200 ] && return 0
    sleep 0.05
  done
  echo "nothing ready on port $1" >&2; return 1
}

iris=$(mktemp -d); cp -r models/sklearn-iris "$iris/"
TOKIO_WORKER_THREADS=1 taskset -c 0 $BIN/infergate-predictor --model_dir "$iris" --bind_address 127.0.0.1 \
  --http_port 18600 --grpc_port 18601 --intra_op_threads 1 --enable_latency_logging false >"$OUT/predictor.log" 2>&1 &
PIDS+=($!); wait_ready 18600
TOKIO_WORKER_THREADS=1 taskset -c 0 $BIN/infergate --model_name sklearn-iris --predictor_host 127.0.0.1:18600 \
  --bind_address 127.0.0.1 --http_port 18610 --grpc_port 18611 --enable_latency_logging false >"$OUT/infergate.log" 2>&1 &
PIDS+=($!); wait_ready 18610
PEER_CPUS=0 peer_start kserve-transformer sklearn-iris 127.0.0.1:18600 18620 18621 --enable_latency_logging false

echo '{"instances": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]}' >"$OUT/iris-v1.json"
for c in 1 64; do
  taskset -c 1 $BIN/infergate-loadtest run --no-progress -t 1 -w 1s -d "$DURATION" --rounds "$ROUNDS" \
    -m sklearn-iris -c "$c" --input-data "$OUT/iris-v1.json" --json "$OUT/transformer-c$c.json" \
    direct=v1+http://127.0.0.1:18600 infergate=v1+http://127.0.0.1:18610 kserve=v1+http://127.0.0.1:18620 >/dev/null
done
python3 bench/report.py "$OUT"/transformer-c1.json "$OUT"/transformer-c64.json | tee "$OUT/tables.md"
python3 bench/transformer/added_latency.py "$OUT"/transformer-c1.json "$OUT"/transformer-c64.json | tee -a "$OUT/tables.md"
