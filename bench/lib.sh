# Shared set-up of the bench harnesses (sourced, after ROOT is set and the
# script cd'd there): the project's venv, release binaries, the peers'
# helpers, a cleanup trap for what the harness started, and the helpers to
# start one-core servers and wait for them.
#
#   OUT=bench/out/NAME; source bench/lib.sh
#   bench_serve 18200 "$BIN/infergate-predictor" --model_dir DIR   # one core, one thread
#   $LT --rounds 2 -m MODEL -c 64 a=URL b=URL                     # generator on the other core
set -euo pipefail
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-2}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
mkdir -p "$OUT"
source scripts/lib.sh
source bench/peers/lib.sh
need_apt curl fonts-dejavu-core
bash scripts/venv.sh requirements.txt
cargo build --release --quiet --bins
BIN=target/release
LT="taskset -c $LOAD_CPU $BIN/infergate-loadtest run --no-progress -t 1 -w 1s -d $DURATION"

PIDS=()
_bench_cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  peer_stop_all
}
trap _bench_cleanup EXIT

# bench_wait_ready PORT: until GET /v2/health/ready answers 200 (10 s at most).
bench_wait_ready() {
  for _ in $(seq 200); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/v2/health/ready")" = 200 ] && return 0
    sleep 0.05
  done
  echo "nothing ready on port $1" >&2; return 1
}

# bench_serve HTTP_PORT BIN [ARGS...]: an infergate binary on $SERVER_CPU with
# one tokio worker (and one ONNX Runtime thread for the predictor), HTTP on
# HTTP_PORT and gRPC on HTTP_PORT+1, loopback only; waits until it is ready.
# Its pid is ${PIDS[-1]}, its log $OUT/server-HTTP_PORT.log.
bench_serve() {
  local http=$1 bin=$2; shift 2
  local extra=()
  [[ $bin == *infergate-predictor ]] && extra=(--intra_op_threads 1)
  TOKIO_WORKER_THREADS=1 taskset -c "$SERVER_CPU" "$bin" --bind_address 127.0.0.1 --http_port "$http" \
    --grpc_port $((http + 1)) --enable_latency_logging false "${extra[@]}" "$@" >"$OUT/server-$http.log" 2>&1 &
  PIDS+=($!)
  bench_wait_ready "$http"
}

# bench_rss_kb PID: resident memory of a process, in kB.
bench_rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# bench_instruction_table LABEL_A BIN_A LABEL_B BIN_B [ENV_A] [ENV_B]: a table
# of user-space instructions per request (bench/allocator/instructions.sh:
# callgrind, iris, V2 binary, concurrency 64), batched and not, A / B. ENV_X
# is an optional VAR=value the binary runs with.
bench_instruction_table() {
  local la=$1 a=$2 lb=$3 b=$4 ea=${5:-} eb=${6:-} mode ia ib
  echo "| instructions per request (callgrind, iris c64) | $la | $lb | $la / $lb |"
  echo "|---|---|---|---|"
  for mode in batched plain; do
    ia=$(env $ea bench/allocator/instructions.sh "$a" "$mode")
    ib=$(env $eb bench/allocator/instructions.sh "$b" "$mode")
    echo "| $mode | $ia | $ib | $(python3 -c "print(f'{$ia / $ib:.2f}')") |"
  done
}
