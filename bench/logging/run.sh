#!/usr/bin/env bash
# The cost of KServe's latency log (--enable_latency_logging, on by default:
# one line per request), side by side in one run (docs/benchmarks.md,
# "Latency logging"): the same infergate-predictor binary serving the batched
# MLP twice, with the latency log on and off, each on one core (cpu 0) with
# one tokio worker and its stderr to a file; the generator on cpu 1 drives
# them alternately over V2 binary at concurrency 64. Then the lines the
# logging server wrote and the ones it dropped (a full buffer), and the
# user-space instructions per request under callgrind, which the load on a
# shared machine does not move (bench/allocator/instructions.sh: iris,
# batched, V2 binary, concurrency 64), with the latency log on and off.
# Bounded: ROUNDS (10) x DURATION (1s) per server, after a 1 s warm-up each;
# the callgrind runs take about a minute each.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
OUT=${OUT:-bench/out/logging}
DURATION=${DURATION:-1s}
ROUNDS=${ROUNDS:-10}
source bench/lib.sh

batched=$(mktemp -d)
cp -r models/mlp "$batched/"
cat >"$batched/mlp/config.toml" <<'TOML'
max_batch_size = 64
[dynamic_batching]
max_queue_delay_microseconds = 2000
TOML

# serve PORT LATENCY_LOGGING: one predictor, as bench_serve starts them but
# with the latency log as asked.
serve() {
  TOKIO_WORKER_THREADS=1 taskset -c "$SERVER_CPU" "$BIN/infergate-predictor" --bind_address 127.0.0.1 \
    --http_port "$1" --grpc_port $(($1 + 1)) --intra_op_threads 1 --model_dir "$batched" \
    --enable_latency_logging "$2" >"$OUT/server-$1.log" 2>&1 &
  PIDS+=($!)
  bench_wait_ready "$1"
}
serve 18600 true
serve 18610 false

$LT --rounds "$ROUNDS" -m mlp -c 64 -b 1 --json "$OUT/latency-logging.json" \
  on=v2-binary+http://127.0.0.1:18600 off=v2-binary+http://127.0.0.1:18610 >/dev/null

dropped=$(curl -s http://127.0.0.1:18600/metrics | awk '$1 == "infergate_log_lines_dropped_total" {print $2}')
kill "${PIDS[0]}"
wait "${PIDS[0]}" 2>/dev/null || true  # stopping writes out the queued lines
written=$(grep -c 'request latency' "$OUT/server-18600.log" || true)
kill "${PIDS[1]}"
i_on=$(LATENCY_LOGGING=true bash bench/allocator/instructions.sh "$BIN/infergate-predictor" batched)
i_off=$(LATENCY_LOGGING=false bash bench/allocator/instructions.sh "$BIN/infergate-predictor" batched)

{
  echo "| instructions per request (callgrind, iris batched c64) | latency log on | off | on / off |"
  echo "|---|---|---|---|"
  echo "| user space, all threads | $i_on | $i_off | $(python3 -c "print(f'{$i_on / $i_off:.3f}')") |"
  echo
  python3 bench/report.py "$OUT/latency-logging.json"
  echo
  python3 - "$OUT/latency-logging.json" "$written" "${dropped:-0}" <<'PY'
import json, sys
report, written, dropped = sys.argv[1], int(sys.argv[2]), int(float(sys.argv[3]))
t = {t["label"]: t for t in json.load(open(report))["targets"]}
per_round = sorted(a["rps"] / b["rps"] for a, b in zip(t["on"]["rounds"], t["off"]["rounds"]))
median = per_round[len(per_round) // 2]
print("Latency logging on / off, req/s per round: " + ", ".join(f"{r:.2f}x" for r in per_round)
      + f" (median {median:.2f}x, a cost of {100 * (1 - median):.0f}%).")
print()
print(f"Latency lines written: {written}; dropped (buffer full): {dropped}.")
PY
} | tee "$OUT/tables.md"
python3 bench/update_docs.py logging "$OUT"
