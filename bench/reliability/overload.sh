#!/usr/bin/env bash
# Overload (docs/reliability.md, part 6): infergate-loadtest in open loop at
# ten times a server's measured capacity, against
#  A. the batching predictor (the MLP, 64 rows a request, max_batch_size 64,
#     max_queue_size 256), and
#  B. the transformer in front of a predictor that takes 50 ms a request (the
#     load generator's mock), with --predictor_max_inflight_requests 64.
# Capacity is first measured in closed loop (A: 64 in flight; B: 64 in
# flight, the limit). Capacities are kept low (64 rows a request, 50 ms a
# call) so that the one-core generator can offer ten times them: with 16 rows
# a request the predictor served ~5800/s and the generator reached only 5x,
# falling behind its own schedule. Reported for each: the refused (429) and other errors,
# the rate of answers served, the latency of the admitted requests (p50, p99,
# max) against capacity's, and resident memory at rest and at its peak
# (VmHWM) after the overload.
# Servers on cpu 0 (one tokio worker), the generator on cpu 1.
# Bounded: capacity 10 s, overload OVERLOAD_DURATION (20 s) per server.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
OUT=${OUT:-bench/out/overload}
OVER=${OVERLOAD_DURATION:-20s}
source bench/lib.sh
LT1="taskset -c $LOAD_CPU $BIN/infergate-loadtest run --no-progress -t 1 -w 1s"

peak_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }

# overload NAME URL MODEL [LOADTEST ARGS...]: capacity, then 10x it.
overload() {
  local name=$1 url=$2 model=$3 pid=${PIDS[-1]}; shift 3
  $LT1 -d 10s -c 64 -m "$model" "$@" --json "$OUT/$name-capacity.json" "$url" >/dev/null
  local cap rate rss0
  cap=$(python3 -c "import json; print(json.load(open('$OUT/$name-capacity.json'))['targets'][0]['rps'])")
  rate=$(python3 -c "print(round(10 * $cap))")
  rss0=$(bench_rss_kb "$pid")
  $LT1 -d "$OVER" -r "$rate" --arrival poisson -c 1024 --timeout 10s -m "$model" "$@" \
    --json "$OUT/$name-overload.json" "$url" >/dev/null
  sleep 1
  echo "$name $rss0 $(peak_kb "$pid") $(bench_rss_kb "$pid")" >>"$OUT/rss.txt"
}
: >"$OUT/rss.txt"

# --- A. the batching predictor ----------------------------------------------
repo=$(mktemp -d); cp -r models/mlp "$repo/"
cat >"$repo/mlp/config.toml" <<TOML
max_batch_size = 64
[dynamic_batching]
max_queue_delay_microseconds = 2000
max_queue_size = ${QUEUE:-256}
TOML
bench_serve 18700 "$BIN/infergate-predictor" --model_dir "$repo"
overload predictor v2-binary+http://127.0.0.1:18700 mlp -b 64
kill "${PIDS[-1]}"

# --- B. the transformer in front of a slow predictor --------------------------
taskset -c "$SERVER_CPU" "$BIN/infergate-loadtest" mock --threads 1 --latency 50ms \
  --http-port 18720 --grpc-port 18721 >"$OUT/mock.log" 2>&1 &
PIDS+=($!)
bench_wait_ready 18720
bench_serve 18730 "$BIN/infergate" --model_name m --predictor_host 127.0.0.1:18720 \
  --predictor_protocol v2 --predictor_max_inflight_requests 64
echo '{"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [1.5, 2.5]}]}' >"$OUT/x.json"
overload transformer v2+http://127.0.0.1:18730 m --input-data "$OUT/x.json"

python3 - "$OUT" <<'PY' | tee "$OUT/tables.md"
import json, sys
out = sys.argv[1]
rss = {l.split()[0]: [int(x) // 1024 for x in l.split()[1:]] for l in open(f"{out}/rss.txt")}
print("| server | capacity (closed loop) | offered (open loop) | answered ok | refused 429 | other errors | not sent by the generator | admitted p50 / p99 / max ms | capacity p99 ms | RSS MB: before, peak, after |")
print("|---|---|---|---|---|---|---|---|---|---|")
for name in ("predictor", "transformer"):
    cap = json.load(open(f"{out}/{name}-capacity.json"))["targets"][0]
    t = json.load(open(f"{out}/{name}-overload.json"))["targets"][0]
    kinds = dict(t["errors"]["by_kind"])
    refused = kinds.pop("http 429", 0)
    other = sum(kinds.values())
    ok = t["ok_latency_ms"]
    secs = t["duration_s"]
    print(f"| {name} | {cap['rps']:.0f}/s | {t['open_loop']['achieved_rate']:.0f}/s | {t['ok'] / secs:.0f}/s | "
          f"{refused} ({100 * refused / max(t['requests'], 1):.0f}%) | {other} {json.dumps(kinds) if other else ''} | "
          f"{t['open_loop']['missed']} | {ok['p50']:.1f} / {ok['p99']:.1f} / {ok['max']:.1f} | {cap['latency_ms']['p99']:.1f} | "
          f"{rss[name][0]}, {rss[name][1]}, {rss[name][2]} |")
PY
