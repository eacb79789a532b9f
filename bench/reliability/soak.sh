#!/usr/bin/env bash
# Soak (docs/reliability.md, part 8): SOAK_SECONDS (600) of steady open-loop
# traffic on loopback, sampling every 10 s the resident memory and open file
# descriptors of the predictor and the transformer, and the errors the load
# generators saw in those 10 s. Two generators at once:
#   V1 REST through the transformer to the predictor (iris), RATE_T (300/s)
#   gRPC straight to the predictor (the batched MLP, 8 rows), RATE_P (300/s)
# Pass: zero errors, and each process's RSS within 10% from the first sample
# after warm-up (60 s) to the end. Runs under `nice`; no pinning.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
OUT=${OUT:-bench/out/soak}
SECS=${SOAK_SECONDS:-600}
source bench/lib.sh

models=$(mktemp -d); cp -r models/sklearn-iris models/mlp "$models/"
"$BIN/infergate-predictor" --model_dir "$models" --intra_op_threads 1 --bind_address 127.0.0.1 \
  --http_port 19400 --grpc_port 19401 >"$OUT/predictor.log" 2>&1 &
pred=$!; PIDS+=($pred)
bench_wait_ready 19400
"$BIN/infergate" --model_name sklearn-iris --predictor_host 127.0.0.1:19400 --bind_address 127.0.0.1 \
  --http_port 19410 --grpc_port 19411 >"$OUT/transformer.log" 2>&1 &
trans=$!; PIDS+=($trans)
bench_wait_ready 19410
echo '{"instances": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]}' >"$OUT/iris-v1.json"

LTS="nice -n 5 $BIN/infergate-loadtest run --no-progress -t 1 -w 0s -d ${SECS}s --arrival poisson --validate"
$LTS -r "${RATE_T:-300}" -c 32 -m sklearn-iris --input-data "$OUT/iris-v1.json" --json "$OUT/transformer-load.json" \
  v1+http://127.0.0.1:19410 >/dev/null &
lt1=$!
$LTS -r "${RATE_P:-300}" -c 32 -m mlp -b 8 --json "$OUT/predictor-load.json" grpc://127.0.0.1:19401 >/dev/null &
lt2=$!

fds() { ls "/proc/$1/fd" | wc -l; }
echo "t_s pred_rss_kb pred_fds trans_rss_kb trans_fds" >"$OUT/samples.txt"
for ((t = 10; t <= SECS; t += 10)); do
  sleep 10
  echo "$t $(bench_rss_kb $pred) $(fds $pred) $(bench_rss_kb $trans) $(fds $trans)" >>"$OUT/samples.txt"
done
wait $lt1 $lt2

python3 - "$OUT" <<'PY' | tee "$OUT/tables.md"
import collections, json, sys
out = sys.argv[1]
errs = collections.Counter()
totals = {}
for name in ("transformer", "predictor"):
    t = json.load(open(f"{out}/{name}-load.json"))["targets"][0]
    totals[name] = (t["requests"], t["errors"]["total"] + t["open_loop"]["missed"], t["latency_ms"]["p99"])
    for w in t["windows"]:
        errs[int(w["start_s"] // 10) * 10 + 10] += w["errors"]
rows = [l.split() for l in open(f"{out}/samples.txt")][1:]
print("| t (s) | predictor RSS MB | predictor fds | transformer RSS MB | transformer fds | errors in the 10 s |")
print("|---|---|---|---|---|---|")
for t, prss, pfd, trss, tfd in rows:
    t = int(t)
    if t % 60 == 0 or t == 10:
        print(f"| {t} | {int(prss) / 1024:.1f} | {pfd} | {int(trss) / 1024:.1f} | {tfd} | {errs.get(t, 0)} |")
print()
after = [r for r in rows if int(r[0]) >= 60] or rows
ok = True
for label, col in (("predictor", 1), ("transformer", 3)):
    v = [int(r[col]) for r in after]
    drift = (max(v) - v[0]) / v[0] * 100
    ok &= abs(drift) <= 10 and (max(v) - min(v)) / v[0] * 100 <= 10
    fd = [int(r[col + 1]) for r in after]
    print(f"- {label}: RSS {v[0] / 1024:.1f} MB at 60 s, {min(v) / 1024:.1f}-{max(v) / 1024:.1f} MB after "
          f"(spread {(max(v) - min(v)) / v[0] * 100:.1f}%); open fds {min(fd)}-{max(fd)}.")
for name, (n, e, p99) in totals.items():
    ok &= e == 0
    print(f"- load through the {name}: {n} requests, {e} errors, p99 {p99:.2f} ms.")
print()
print(f"Result: {'pass' if ok else 'FAIL'} (zero errors; RSS within 10% after warm-up).")
sys.exit(0 if ok else 1)
PY
