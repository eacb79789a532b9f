#!/usr/bin/env bash
# The predictor's benchmarks, side by side in one run (docs/benchmarks.md):
#  1. serving overhead: criterion's raw session.run vs OnnxModel::predict
#     (in process), and infergate-predictor over HTTP / gRPC at concurrency 1;
#  2. iris throughput: infergate-predictor vs KServe's Python sklearn server
#     and MLServer's sklearn runtime, same V1 request, concurrency 1 and 64;
#  3. batching on vs off for the MLP at concurrency 64;
#  4. idle RSS with iris loaded, and start-to-ready time.
# Servers run on cpu 0 (one core each, alternately), the generator on cpu 1.
# Bounded: DURATION (default 10s) per target and round, ROUNDS (2).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-2}
OUT=${OUT:-bench/out/predictor}
mkdir -p "$OUT"
source scripts/lib.sh
source bench/peers/lib.sh
need_apt curl

bash scripts/venv.sh requirements.txt
bash bench/peers/install.sh >&2
cargo build --release --quiet --bins
BIN=target/release
LT="taskset -c 1 $BIN/infergate-loadtest run --no-progress -t 1 -w 1s -d $DURATION --rounds $ROUNDS"

PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  peer_stop_all
}
trap cleanup EXIT

# start_infergate PORT_HTTP PORT_GRPC MODEL_DIR [ARGS...]: one core, one thread.
start_infergate() {
  local http=$1 grpc=$2 dir=$3; shift 3
  TOKIO_WORKER_THREADS=1 taskset -c 0 "$BIN/infergate-predictor" --model_dir "$dir" --bind_address 127.0.0.1 \
    --http_port "$http" --grpc_port "$grpc" --intra_op_threads 1 --enable_latency_logging false "$@" \
    >"$OUT/predictor-$http.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 200); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http/v2/health/ready")" = 200 ] && return 0
    sleep 0.05
  done
  echo "infergate-predictor on $http did not start" >&2; return 1
}

# --- 4 first, on a quiet machine: start-to-ready and idle RSS -------------
iris_only=$(mktemp -d); cp -r models/sklearn-iris "$iris_only/"
t0=$(date +%s%N)
start_infergate 18200 18201 "$iris_only"
t1=$(date +%s%N)
sleep 2
rss=$(awk '/VmRSS/ {print $2}' "/proc/${PIDS[-1]}/status")
echo "start_to_ready_ms $(( (t1 - t0) / 1000000 ))" | tee "$OUT/startup.txt"
echo "idle_rss_kb $rss" | tee -a "$OUT/startup.txt"

# --- 1. overhead ------------------------------------------------------------
cargo bench -q -p infergate-predictor --bench overhead -- --warm-up-time 2 --measurement-time 5 \
  --output-format bencher 2>/dev/null | grep '^test ' | tee "$OUT/overhead-criterion.txt"
echo '{"instances": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]}' >"$OUT/iris-v1.json"
$LT -m sklearn-iris -c 1 --input-data "$OUT/iris-v1.json" --json "$OUT/overhead-c1.json" \
  v2=v2+http://127.0.0.1:18200 grpc=grpc://127.0.0.1:18201 v1=v1+http://127.0.0.1:18200 >/dev/null

# --- 2. iris against KServe and MLServer ------------------------------------
joblib_dir=$(mktemp -d)
"$PEERS_HOME/.venv-kserve/bin/python" bench/peers/train_iris.py "$joblib_dir" >/dev/null
PEER_CPUS=0 peer_start kserve sklearn-iris "$joblib_dir" 18300 18301 --enable_latency_logging false
PEER_CPUS=0 peer_start mlserver sklearn-iris "$joblib_dir" 18400 18401
for c in 1 64; do
  $LT -m sklearn-iris -c "$c" --input-data "$OUT/iris-v1.json" --json "$OUT/iris-c$c.json" \
    infergate=v1+http://127.0.0.1:18200 kserve=v1+http://127.0.0.1:18300 mlserver=v2+http://127.0.0.1:18400 >/dev/null
done
peer_stop_all

# --- 3. MLP batching on vs off ---------------------------------------------
# Two predictors serving the same MLP as `mlp`, one with dynamic batching.
plain=$(mktemp -d); batched=$(mktemp -d)
cp -r models/mlp "$plain/"; cp -r models/mlp "$batched/"
cat >"$batched/mlp/config.toml" <<'TOML'
max_batch_size = 64
[dynamic_batching]
max_queue_delay_microseconds = 2000
TOML
start_infergate 18500 18501 "$batched"
start_infergate 18510 18511 "$plain"
$LT -m mlp -c 64 -b 1 --json "$OUT/mlp-c64.json" \
  batching=v2-binary+http://127.0.0.1:18500 no-batching=v2-binary+http://127.0.0.1:18510 >/dev/null
# The compute time of a full batch: one 64-row request, alone, unbatched.
$LT -m mlp -c 1 -b 64 --json "$OUT/mlp-batch64-c1.json" v2-binary+http://127.0.0.1:18510 >/dev/null

python3 bench/report.py "$OUT"/overhead-c1.json "$OUT"/iris-c1.json "$OUT"/iris-c64.json "$OUT"/mlp-*.json | tee "$OUT/tables.md"
