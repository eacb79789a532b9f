#!/usr/bin/env bash
# instructions.sh BINARY [plain|batched]: user-space instructions per request
# (valgrind's callgrind) of an infergate-predictor binary serving iris to V2
# binary requests at concurrency 64, batched (max_batch_size 64) or not.
# Instruction counts do not move with the load on this shared machine the way
# times do. Two runs of different lengths; the slope between them is the cost
# of one request, without start-up and model loading. Prints one number.
# LATENCY_LOGGING=true measures with KServe's latency log on (bench/logging).
set -euo pipefail
BIN_UNDER_TEST=$1
MODE=${2:-batched}
PORT=${PORT:-18950}
LT_BIN=${LT_BIN:-target/release/infergate-loadtest}
LOAD_CPU=${LOAD_CPU:-1}
LATENCY_LOGGING=${LATENCY_LOGGING:-false}

one_run() {  # DURATION -> "requests instructions"
  local dir out pid n
  dir=$(mktemp -d); out=$(mktemp)
  cp -r models/sklearn-iris "$dir/"
  if [ "$MODE" = batched ]; then
    printf 'max_batch_size = 64\n[dynamic_batching]\nmax_queue_delay_microseconds = 2000\n' >"$dir/sklearn-iris/config.toml"
  fi
  TOKIO_WORKER_THREADS=1 valgrind --tool=callgrind --callgrind-out-file="$out" "$BIN_UNDER_TEST" \
    --bind_address 127.0.0.1 --http_port "$PORT" --grpc_port $((PORT + 1)) \
    --enable_latency_logging "$LATENCY_LOGGING" --intra_op_threads 1 --model_dir "$dir" >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 240); do
    curl -sf -o /dev/null "http://127.0.0.1:$PORT/v2/health/ready" && break
    sleep 0.5
  done
  taskset -c "$LOAD_CPU" "$LT_BIN" run --no-progress -t 1 -w 0s -d "$1" -m sklearn-iris -c 64 -b 1 \
    "v2-binary+http://127.0.0.1:$PORT" >/dev/null 2>&1
  n=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^infergate_requests_total/ {s += $NF} END {print s + 0}')
  kill -INT "$pid"; wait "$pid" 2>/dev/null || true
  echo "$n $(awk '/^summary:/ {print $2}' "$out")"
  rm -rf "$dir" "$out"
}
read -r n1 i1 < <(one_run 4s)
read -r n2 i2 < <(one_run 12s)
python3 -c "print(round(($i2 - $i1) / ($n2 - $n1)))"
