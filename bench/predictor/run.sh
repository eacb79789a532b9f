#!/usr/bin/env bash
# The predictor's benchmarks, side by side in one run (docs/benchmarks.md):
#  1. serving overhead: criterion's raw session.run vs OnnxModel::predict
#     (in process), and infergate-predictor over HTTP / gRPC at concurrency 1;
#  2. iris throughput: infergate-predictor vs KServe's Python sklearn server
#     and MLServer's sklearn runtime, same V1 request, concurrency 1 and 64;
#  3. batching on vs off for the MLP at concurrency 64;
#  4. idle RSS with iris loaded, and start-to-ready time.
# Servers run on cpu 0 (one core each, alternately), the generator on cpu 1.
# Bounded: DURATION (default 10s) per target and round, ROUNDS (2); the MLP
# comparison MLP_ROUNDS (15) x MLP_DURATION (3s).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
OUT=${OUT:-bench/out/predictor}
source bench/lib.sh
bash bench/peers/install.sh >&2

# start_infergate PORT_HTTP MODEL_DIR [ARGS...]: infergate-predictor, one core.
start_infergate() { local http=$1 dir=$2; shift 2; bench_serve "$http" "$BIN/infergate-predictor" --model_dir "$dir" "$@"; }

# --- 4 first, on a quiet machine: start-to-ready and idle RSS -------------
iris_only=$(mktemp -d); cp -r models/sklearn-iris "$iris_only/"
t0=$(date +%s%N)
start_infergate 18200 "$iris_only"
t1=$(date +%s%N)
sleep 2
rss=$(bench_rss_kb "${PIDS[-1]}")
echo "start_to_ready_ms $(( (t1 - t0) / 1000000 ))" | tee "$OUT/startup.txt"
echo "idle_rss_kb $rss" | tee -a "$OUT/startup.txt"

# --- 1. overhead ------------------------------------------------------------
cargo bench -q -p infergate-predictor --bench overhead -- --warm-up-time 2 --measurement-time 5 \
  --output-format bencher 2>/dev/null | grep '^test ' | tee "$OUT/overhead-criterion.txt"
echo '{"instances": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]}' >"$OUT/iris-v1.json"
# The floor: the loadtest mock answers at once (no model, no decoding), on
# the same core, so its rows are the round trip a server doing nothing costs.
taskset -c "$SERVER_CPU" "$BIN/infergate-loadtest" mock --threads 1 --http-port 18210 --grpc-port 18211 >"$OUT/mock.log" 2>&1 &
PIDS+=($!)
bench_wait_ready 18210
$LT --rounds $ROUNDS -m sklearn-iris -c 1 --input-data "$OUT/iris-v1.json" --json "$OUT/overhead-c1.json" \
  v2=v2+http://127.0.0.1:18200 grpc=grpc://127.0.0.1:18201 v1=v1+http://127.0.0.1:18200 \
  mock-v2=v2+http://127.0.0.1:18210 mock-grpc=grpc://127.0.0.1:18211 >/dev/null
kill "${PIDS[-1]}"

# --- 2. iris against KServe and MLServer ------------------------------------
joblib_dir=$(mktemp -d)
"$PEERS_HOME/.venv-kserve/bin/python" bench/peers/train_iris.py "$joblib_dir" >/dev/null
PEER_CPUS=$SERVER_CPU peer_start kserve sklearn-iris "$joblib_dir" 18300 18301 --enable_latency_logging false
PEER_CPUS=$SERVER_CPU peer_start mlserver sklearn-iris "$joblib_dir" 18400 18401
for c in 1 64; do
  $LT --rounds $ROUNDS -m sklearn-iris -c "$c" --input-data "$OUT/iris-v1.json" --json "$OUT/iris-c$c.json" --plot "$OUT/plots/iris-c$c" \
    infergate=v1+http://127.0.0.1:18200 kserve=v1+http://127.0.0.1:18300 mlserver=v2+http://127.0.0.1:18400 >/dev/null
done
peer_stop_all

# --- 3. MLP batching on vs off ---------------------------------------------
# Two predictors serving the same MLP as `mlp`, one with dynamic batching.
plain=$(mktemp -d); batched=$(mktemp -d)
cp -r models/mlp "$plain/"; cp -r models/mlp "$batched/"
rm -f "$plain/mlp/config.toml" # models/mlp ships batched; this one must not be
cat >"$batched/mlp/config.toml" <<'TOML'
max_batch_size = 64
[dynamic_batching]
max_queue_delay_microseconds = 2000
TOML
start_infergate 18500 "$batched"
start_infergate 18510 "$plain"
# Many short rounds (MLP_ROUNDS x MLP_DURATION, alternating): the ratio is
# the median of per-round ratios, and this shared machine's speed changes
# within seconds, so each ratio compares two neighbouring 3 s windows.
taskset -c "$LOAD_CPU" "$BIN/infergate-loadtest" run --no-progress -t 1 -w 1s -d "${MLP_DURATION:-3s}" \
  --rounds "${MLP_ROUNDS:-15}" -m mlp -c 64 -b 1 --json "$OUT/mlp-c64.json" --plot "$OUT/plots/mlp-c64" \
  batching=v2-binary+http://127.0.0.1:18500 no-batching=v2-binary+http://127.0.0.1:18510 >/dev/null
# The compute time of a full batch: one 64-row request, alone, unbatched.
$LT --rounds $ROUNDS -m mlp -c 1 -b 64 --json "$OUT/mlp-batch64-c1.json" v2-binary+http://127.0.0.1:18510 >/dev/null

{
  echo "| in process (criterion, iris 2x4) | ns per call |"
  echo "|---|---|"
  awk '/^test / {gsub(",", "", $5); print "| " $2 " | " $5 " |"}' "$OUT/overhead-criterion.txt"
  echo
  python3 bench/report.py "$OUT"/overhead-c1.json "$OUT"/iris-c1.json "$OUT"/iris-c64.json "$OUT"/mlp-*.json
  echo
  python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
t = {t["label"]: t for t in json.load(open(f"{out}/mlp-c64.json"))["targets"]}
b = t["batching"]
per_round = sorted(x["rps"] / y["rps"] for x, y in zip(b["rounds"], t["no-batching"]["rounds"]))
print("Batching on / off, req/s per round: " + ", ".join(f"{r:.2f}x" for r in per_round)
      + f" (median {per_round[len(per_round) // 2]:.2f}x).")
print()
full = json.load(open(f"{out}/mlp-batch64-c1.json"))["targets"][0]["latency_ms"]["p50"]
bound = 2.0 + 2 * full
print(f"Batching p99 {b['latency_ms']['p99']:.3f} ms against max_queue_delay + 2 x a full batch "
      f"(2 ms + 2 x {full:.3f} ms = {bound:.3f} ms): {'within' if b['latency_ms']['p99'] <= bound else 'OVER'}.")
PY
  echo
  echo "Start to ready (iris only): $(awk '/start_to_ready_ms/ {print $2}' "$OUT/startup.txt") ms;" \
    "idle RSS with iris loaded: $(( $(awk '/idle_rss_kb/ {print $2}' "$OUT/startup.txt") / 1024 )) MB."
} | tee "$OUT/tables.md"
python3 bench/update_docs.py predictor "$OUT"
