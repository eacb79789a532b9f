#!/usr/bin/env bash
# infergate's HTTP/1.1 fast path vs hyper for the same REST requests, side by
# side in one run (docs/benchmarks.md, "HTTP/1.1 fast path vs hyper"): the
# same infergate-predictor binary with --http1_fast_path true and false.
#  1. user-space instructions per request (callgrind,
#     bench/allocator/instructions.sh: iris, V2 binary, concurrency 64,
#     batched and not), which the machine's load does not move;
#  2. the MLP at concurrency 64, V2 binary, batched and not, all four servers
#     driven alternately in MLP_ROUNDS (8) rounds of MLP_DURATION (3s); the
#     ratios are medians of per-round ratios;
#  3. iris, seed V1 request, concurrency 1 (latency).
# Servers on cpu 0 (one thread each), the generator on cpu 1. Writes
# $OUT/tables.md and the "http1" block of docs/benchmarks.md.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
DURATION=${DURATION:-5s}
OUT=${OUT:-bench/out/http1}
source bench/lib.sh
need_apt valgrind
P=$BIN/infergate-predictor

IR_TABLE=$(bench_instruction_table "fast path" "$P" hyper "$P" \
  INFERGATE_HTTP1_FAST_PATH=true INFERGATE_HTTP1_FAST_PATH=false)

plain=$(mktemp -d); batched=$(mktemp -d)
cp -r models/mlp "$plain/"; cp -r models/mlp "$batched/"
rm -f "$plain/mlp/config.toml" # models/mlp ships batched; this one must not be
printf 'max_batch_size = 64\n[dynamic_batching]\nmax_queue_delay_microseconds = 2000\n' >"$batched/mlp/config.toml"
bench_serve 18800 "$P" --model_dir "$batched" --http1_fast_path true
bench_serve 18810 "$P" --model_dir "$batched" --http1_fast_path false
bench_serve 18820 "$P" --model_dir "$plain" --http1_fast_path true
bench_serve 18830 "$P" --model_dir "$plain" --http1_fast_path false
taskset -c "$LOAD_CPU" "$BIN/infergate-loadtest" run --no-progress -t 1 -w 1s -d "${MLP_DURATION:-3s}" \
  --rounds "${MLP_ROUNDS:-8}" -m mlp -c 64 -b 1 --json "$OUT/mlp-c64.json" \
  batched-fast=v2-binary+http://127.0.0.1:18800 batched-hyper=v2-binary+http://127.0.0.1:18810 \
  plain-fast=v2-binary+http://127.0.0.1:18820 plain-hyper=v2-binary+http://127.0.0.1:18830 >/dev/null
iris=$(mktemp -d); cp -r models/sklearn-iris "$iris/"
bench_serve 18840 "$P" --model_dir "$iris" --http1_fast_path true
bench_serve 18850 "$P" --model_dir "$iris" --http1_fast_path false
echo '{"instances": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]}' >"$OUT/iris-v1.json"
$LT --rounds "$ROUNDS" -m sklearn-iris -c 1 --input-data "$OUT/iris-v1.json" --json "$OUT/iris-c1.json" \
  fast=v1+http://127.0.0.1:18840 hyper=v1+http://127.0.0.1:18850 >/dev/null

{
  echo "$IR_TABLE"
  echo
  python3 bench/report.py "$OUT"/mlp-c64.json "$OUT"/iris-c1.json
  echo
  python3 - "$OUT" <<'PY'
import json, statistics, sys
t = {t["label"]: [r["rps"] for r in t["rounds"]] for t in json.load(open(f"{sys.argv[1]}/mlp-c64.json"))["targets"]}
def med(a, b):
    return statistics.median(x / y for x, y in zip(t[a], t[b]))
print("MLP c64, medians of per-round ratios: "
      f"fast / hyper batched {med('batched-fast', 'batched-hyper'):.2f}x, "
      f"not batched {med('plain-fast', 'plain-hyper'):.2f}x; "
      f"batching on / off with the fast path {med('batched-fast', 'plain-fast'):.2f}x, "
      f"with hyper {med('batched-hyper', 'plain-hyper'):.2f}x.")
PY
} | tee "$OUT/tables.md"
python3 bench/update_docs.py http1 "$OUT"
