#!/usr/bin/env bash
# Two builds of the transformer side by side (docs/benchmarks.md,
# "Transformer"): OLD_BIN and NEW_BIN (`infergate` binaries, e.g. one built
# from an earlier commit) in front of the same infergate-predictor (iris),
# the same V1 request, driven alternately (6 rounds x 3 s) at concurrency 1
# and 64. Servers on cpu 0 with one tokio worker, the generator on cpu 1.
#   bash bench/transformer/ab.sh /tmp/infergate-a97b039 target/release/infergate
set -euo pipefail
OLD_BIN=$(realpath "$1") NEW_BIN=$(realpath "$2")
cd "$(dirname "$0")/../.."
OUT=${OUT:-bench/out/transformer-ab}
mkdir -p $OUT
iris=$(mktemp -d); cp -r models/sklearn-iris "$iris/"
BIN=target/release
start() { TOKIO_WORKER_THREADS=1 taskset -c 0 "$@" --bind_address 127.0.0.1 --enable_latency_logging false >/dev/null 2>&1 & }
start $BIN/infergate-predictor --model_dir "$iris" --intra_op_threads 1 --http_port 18600 --grpc_port 18601; P1=$!
start "$OLD_BIN" --model_name sklearn-iris --predictor_host 127.0.0.1:18600 --http_port 18610 --grpc_port 18611; P2=$!
start "$NEW_BIN" --model_name sklearn-iris --predictor_host 127.0.0.1:18600 --http_port 18620 --grpc_port 18621; P3=$!
trap "kill $P1 $P2 $P3" EXIT
for p in 18600 18610 18620; do for i in $(seq 100); do curl -sf localhost:$p/v2/health/ready >/dev/null && break; sleep 0.1; done; done
echo '{"instances": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]}' > $OUT/iris-v1.json
for c in 1 64; do
  taskset -c 1 $BIN/infergate-loadtest run --no-progress -t 1 -w 1s -d 3s --rounds 6 -m sklearn-iris -c $c --input-data $OUT/iris-v1.json \
    --json $OUT/c$c.json new=v1+http://127.0.0.1:18620 old=v1+http://127.0.0.1:18610 >/dev/null
done
python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
for c in (1, 64):
    r = json.load(open(f"{out}/c{c}.json"))
    t = {x["label"]: x for x in r["targets"]}
    per = sorted(a["rps"] / b["rps"] for a, b in zip(t["new"]["rounds"], t["old"]["rounds"]))
    cmp = r["comparison"][0]
    print(f"c={c}: new {t['new']['rps']:.0f} req/s, old {t['old']['rps']:.0f} req/s; new/old {cmp['rps_ratio']:.3f}x "
          f"(median of rounds {per[len(per)//2]:.3f}x), p50 ratio {cmp['p50_ratio']:.3f}, p99 ratio {cmp['p99_ratio']:.3f}")
PY
