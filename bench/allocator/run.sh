#!/usr/bin/env bash
# mimalloc (the default build) vs the system allocator (glibc malloc, built
# with --no-default-features), side by side in one run: user-space
# instructions per request (callgrind, bench/allocator/instructions.sh; iris,
# V2 binary, concurrency 64, batched and not), then throughput of
# infergate-predictor serving iris (V1, concurrency 1 and 64) and the batched
# MLP (V2 binary, concurrency 64), plus idle RSS with iris loaded. Servers on
# cpu 0 (one thread each), the generator on cpu 1. Bounded: DURATION (8s) x
# ROUNDS (2) per target and run. Writes $OUT/tables.md and the "allocator"
# block of docs/benchmarks.md.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
DURATION=${DURATION:-8s}
OUT=${OUT:-bench/out/allocator}
source bench/lib.sh
need_apt valgrind
CARGO_TARGET_DIR=target/system-alloc cargo build --release --quiet -p infergate-predictor --no-default-features
MI=$BIN/infergate-predictor
SYS=target/system-alloc/release/infergate-predictor
IR_TABLE=$(bench_instruction_table mimalloc "$MI" system "$SYS")
LT="$LT --rounds $ROUNDS"

iris=$(mktemp -d); cp -r models/sklearn-iris "$iris/"
mlp=$(mktemp -d); cp -r models/mlp "$mlp/"
printf 'max_batch_size = 64\n[dynamic_batching]\nmax_queue_delay_microseconds = 2000\n' >"$mlp/mlp/config.toml"
bench_serve 18900 "$MI" --model_dir "$iris"; mi_pid=${PIDS[-1]}
bench_serve 18910 "$SYS" --model_dir "$iris"; sys_pid=${PIDS[-1]}
sleep 2
idle_mi=$(bench_rss_kb "$mi_pid"); idle_sys=$(bench_rss_kb "$sys_pid")
echo '{"instances": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]}' >"$OUT/iris-v1.json"
for c in 1 64; do
  $LT -m sklearn-iris -c "$c" --input-data "$OUT/iris-v1.json" --json "$OUT/iris-c$c.json" \
    mimalloc=v1+http://127.0.0.1:18900 system=v1+http://127.0.0.1:18910 >/dev/null
done
loaded_mi=$(bench_rss_kb "$mi_pid"); loaded_sys=$(bench_rss_kb "$sys_pid")
bench_serve 18920 "$MI" --model_dir "$mlp"
bench_serve 18930 "$SYS" --model_dir "$mlp"
$LT -m mlp -c 64 -b 1 --json "$OUT/mlp-batched-c64.json" \
  mimalloc=v2-binary+http://127.0.0.1:18920 system=v2-binary+http://127.0.0.1:18930 >/dev/null

{
  echo "$IR_TABLE"
  echo
  python3 bench/report.py "$OUT"/iris-c1.json "$OUT"/iris-c64.json "$OUT"/mlp-batched-c64.json
  echo
  echo "| RSS with iris loaded | mimalloc | system |"
  echo "|---|---|---|"
  echo "| idle | $((idle_mi / 1024)) MB | $((idle_sys / 1024)) MB |"
  echo "| after the iris runs | $((loaded_mi / 1024)) MB | $((loaded_sys / 1024)) MB |"
} | tee "$OUT/tables.md"
python3 bench/update_docs.py allocator "$OUT"
