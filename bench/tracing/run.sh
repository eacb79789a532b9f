#!/usr/bin/env bash
# The cost of OpenTelemetry tracing (docs/benchmarks.md, "Tracing"), side by
# side in one run: infergate-predictor serving the batched MLP, each server on
# one core (cpu 0) with one tokio worker, the generator on cpu 1 driving them
# alternately over V2 binary at concurrency 64:
#   base    - the build of $BASE, the commit before tracing was added
#   off     - this build, no OTEL_EXPORTER_OTLP_ENDPOINT (the default)
#   1pct    - this build exporting to a real OTLP/gRPC receiver, 1% of traces
#             sampled (OTEL_TRACES_SAMPLER=traceidratio, _ARG=0.01)
#   all     - the same with every trace sampled
# Bounded: ROUNDS (5) x DURATION (2s) per server, after a 1 s warm-up each.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
OUT=${OUT:-bench/out/tracing}
DURATION=${DURATION:-2s}
ROUNDS=${ROUNDS:-5}
BASE=${BASE:-5816e8e}
source bench/lib.sh

# The baseline, built from its own worktree into its own target directory.
if [ ! -d "$OUT/base-src" ]; then
  git worktree add --detach "$OUT/base-src" "$BASE" >/dev/null
fi
CARGO_TARGET_DIR="$ROOT/target/bench-base" cargo build --release --quiet \
  --manifest-path "$OUT/base-src/Cargo.toml" -p infergate-predictor
BASE_BIN="$ROOT/target/bench-base/release/infergate-predictor"

batched=$(mktemp -d)
cp -r models/mlp "$batched/"
cat >"$batched/mlp/config.toml" <<'TOML'
max_batch_size = 64
[dynamic_batching]
max_queue_delay_microseconds = 2000
TOML

# A real OTLP/gRPC receiver; it stops when its stdin closes.
rm -f "$OUT/spans.jsonl"
mkfifo "$OUT/receiver.in" 2>/dev/null || true
.venv/bin/python tests/python/otlp_receiver.py "$OUT/spans.jsonl" <"$OUT/receiver.in" >"$OUT/receiver.out" &
PIDS+=($!)
exec 9>"$OUT/receiver.in"
for _ in $(seq 100); do grep -q endpoint "$OUT/receiver.out" 2>/dev/null && break; sleep 0.1; done
ENDPOINT=$(awk '{print $2}' "$OUT/receiver.out")

# serve PORT BIN [VAR=value...]: one predictor, as bench_serve starts them.
serve() {
  local port=$1 bin=$2; shift 2
  env "$@" TOKIO_WORKER_THREADS=1 taskset -c "$SERVER_CPU" "$bin" --bind_address 127.0.0.1 \
    --http_port "$port" --grpc_port $((port + 1)) --intra_op_threads 1 --model_dir "$batched" \
    --enable_latency_logging false >"$OUT/server-$port.log" 2>&1 &
  PIDS+=($!)
  bench_wait_ready "$port"
}
serve 18700 "$BASE_BIN"
serve 18710 "$BIN/infergate-predictor"
serve 18720 "$BIN/infergate-predictor" OTEL_EXPORTER_OTLP_ENDPOINT="$ENDPOINT" OTEL_SERVICE_NAME=bench \
  OTEL_TRACES_SAMPLER=traceidratio OTEL_TRACES_SAMPLER_ARG=0.01
serve 18730 "$BIN/infergate-predictor" OTEL_EXPORTER_OTLP_ENDPOINT="$ENDPOINT" OTEL_SERVICE_NAME=bench \
  OTEL_TRACES_SAMPLER=always_on

$LT --rounds "$ROUNDS" -m mlp -c 64 -b 1 --json "$OUT/tracing.json" \
  base=v2-binary+http://127.0.0.1:18700 off=v2-binary+http://127.0.0.1:18710 \
  1pct=v2-binary+http://127.0.0.1:18720 all=v2-binary+http://127.0.0.1:18730 >/dev/null
sleep 1  # the last batches of spans
exec 9>&-

{
  python3 bench/report.py "$OUT/tracing.json"
  echo
  python3 - "$OUT/tracing.json" "$OUT/spans.jsonl" <<'PY'
import json, sys
t = {t["label"]: t for t in json.load(open(sys.argv[1]))["targets"]}
def ratio(a, b):
    r = sorted(x["rps"] / y["rps"] for x, y in zip(t[a]["rounds"], t[b]["rounds"]))
    return r[len(r) // 2], r
for a, b, what in [("off", "base", "tracing off vs the build before tracing"),
                   ("1pct", "off", "1% of traces exported vs tracing off"),
                   ("all", "off", "every trace exported vs tracing off")]:
    m, r = ratio(a, b)
    print(f"{what}: req/s {m:.2f}x (median of rounds: " + ", ".join(f"{x:.2f}x" for x in r) + ")")
spans = sum(1 for _ in open(sys.argv[2]))
print(f"\nSpans the receiver got: {spans}.")
PY
} | tee "$OUT/tables.md"
git worktree remove --force "$OUT/base-src" >/dev/null 2>&1 || true
