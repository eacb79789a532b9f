#!/usr/bin/env bash
# The load generator's own ceiling: infergate-loadtest, oha and wrk drive the
# same trivial target (infergate-loadtest's mock, V2 infer of a 1x16 FP32
# tensor echoed back, zero latency) with the same body, the same connections
# and the same duration, alternately, in one run. The target runs on one core
# (taskset -c $TARGET_CPU, one thread), each generator on the other
# ($LOAD_CPU, one thread). Prints a markdown table of every run and the
# median ratios into $OUT/tables.md and docs/benchmarks.md.
# Bounded: ROUNDS x 3 runs of DURATION each, plus builds.
#
#   bench/loadtest/tool-vs-oha-wrk.sh                # ROUNDS=3 DURATION=10 CONNS=64
#   ROUNDS=1 DURATION=5 CONNS=16 bench/loadtest/tool-vs-oha-wrk.sh
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}      # seconds per run
CONNS=${CONNS:-64}
PORT=${PORT:-18190}
TARGET_CPU=${TARGET_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
OHA_ROOT=${OHA_ROOT:-$ROOT/.cache/oha}
OUT=${OUT:-$ROOT/bench/out/loadtest}
WORK=$(mktemp -d)
MOCK_PID=""

cleanup() {
  [ -n "$MOCK_PID" ] && kill "$MOCK_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

source "$ROOT/scripts/lib.sh"
need_apt wrk
if [ ! -x "$OHA_ROOT/bin/oha" ]; then
  echo "==> installing oha into $OHA_ROOT" >&2
  timeout 1800 cargo install oha --locked --root "$OHA_ROOT" >&2
fi
OHA="$OHA_ROOT/bin/oha"

echo "## build" >&2
(cd "$ROOT" && CARGO_TARGET_DIR="$TARGET_DIR" timeout 1800 cargo build --release -p infergate-loadtest) >&2
BIN="$TARGET_DIR/release/infergate-loadtest"

echo "## target: mock on cpu $TARGET_CPU" >&2
taskset -c "$TARGET_CPU" "$BIN" mock --threads 1 --http-port "$PORT" --no-grpc \
  >"$WORK/mock.out" 2>"$WORK/mock.err" &
MOCK_PID=$!
for _ in $(seq 100); do grep -q '^mock listening' "$WORK/mock.out" 2>/dev/null && break; sleep 0.1; done
grep -q '^mock listening' "$WORK/mock.out" || { cat "$WORK/mock.err" >&2; exit 1; }
URL="http://127.0.0.1:$PORT/v2/models/m/infer"

# One body for all three generators.
BODY='{"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,16],"data":[0.5,1.5,2.5,3.5,4.5,5.5,6.5,7.5,8.5,9.5,10.5,11.5,12.5,13.5,14.5,15.5]}]}'
printf '%s' "$BODY" >"$WORK/body.json"
cat >"$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$BODY'
wrk.headers["Content-Type"] = "application/json"
LUA
curl -sS --max-time 5 -H 'Content-Type: application/json' --data-binary @"$WORK/body.json" "$URL" >"$WORK/answer.json"
echo "answer: $(cat "$WORK/answer.json")" >&2

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
TICK=$(getconf CLK_TCK)

# Each run prints: name rps p50_ms p99_ms generator_cpu% target_cpu% non2xx
run() {
  local name=$1 t0 t1 out gen
  t0=$(cpu_ticks "$MOCK_PID")
  local start=$SECONDS
  case $name in
    infergate-loadtest)
      out=$( { TIMEFORMAT='%3U %3S'; time timeout $((DURATION + 30)) taskset -c "$LOAD_CPU" "$BIN" run \
              --threads 1 -c "$CONNS" -d "${DURATION}s" -w 0s --no-progress -m m \
              --input-data "$WORK/body.json" --json - "http://127.0.0.1:$PORT" >"$WORK/lt.json"; } 2>&1 )
      gen=$(echo "$out" | tail -1)
      python3 - "$WORK/lt.json" "$gen" "$DURATION" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["targets"][0]
u, s = map(float, sys.argv[2].split())
print(f'{r["rps"]:.0f} {r["latency_ms"]["p50"]:.3f} {r["latency_ms"]["p99"]:.3f} '
      f'{100 * (u + s) / float(sys.argv[3]):.0f} {r["errors"]["total"]}')
PY
      ;;
    oha)
      out=$( { TIMEFORMAT='%3U %3S'; time timeout $((DURATION + 30)) taskset -c "$LOAD_CPU" "$OHA" \
              -z "${DURATION}s" -c "$CONNS" --no-tui --output-format json -m POST \
              -T application/json -D "$WORK/body.json" "$URL" >"$WORK/oha.json"; } 2>&1 )
      gen=$(echo "$out" | tail -1)
      python3 - "$WORK/oha.json" "$gen" "$DURATION" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
u, s = map(float, sys.argv[2].split())
codes = r.get("statusCodeDistribution", {})
# oha cuts the requests in flight when the duration ends ("aborted due to
# deadline"): not errors of the target.
errs = {k: v for k, v in r.get("errorDistribution", {}).items() if "deadline" not in k}
bad = sum(v for k, v in codes.items() if not k.startswith("2")) + sum(errs.values())
p = r["latencyPercentiles"]
print(f'{r["summary"]["requestsPerSec"]:.0f} {1000 * p["p50"]:.3f} {1000 * p["p99"]:.3f} '
      f'{100 * (u + s) / float(sys.argv[3]):.0f} {bad}')
PY
      ;;
    wrk)
      out=$( { TIMEFORMAT='%3U %3S'; time timeout $((DURATION + 30)) taskset -c "$LOAD_CPU" wrk -t1 \
              -c "$CONNS" -d "${DURATION}s" --latency -s "$WORK/post.lua" "$URL" >"$WORK/wrk.txt"; } 2>&1 )
      gen=$(echo "$out" | tail -1)
      awk -v gen="$gen" -v d="$DURATION" '
        function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0;
                         if (v ~ /s$/) return v*1000; return v }
        $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
        $1 == "Requests/sec:" { rps = $2 } /Non-2xx/ { bad += $NF } /Socket errors/ { bad += 1 }
        END { split(gen, g, " "); printf "%.0f %.3f %.3f %.0f %d\n", rps, p50, p99, 100*(g[1]+g[2])/d, bad }' "$WORK/wrk.txt"
      ;;
  esac | { read -r rps p50 p99 gcpu bad; t1=$(cpu_ticks "$MOCK_PID");
           echo "$name $rps $p50 $p99 $gcpu $(( (t1 - t0) * 100 / TICK / DURATION )) $bad"; }
}

# The machine may be shared: the load average before and after tells whether
# anything else ran (a run that took far less CPU than the others did).
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
echo "## load: $CONNS connections, ${DURATION}s per run, generators on cpu $LOAD_CPU" >&2
RESULTS=()
for _ in $(seq "$ROUNDS"); do
  for g in infergate-loadtest oha wrk; do
    RESULTS+=("$(run "$g")"); echo "${RESULTS[-1]}" >&2
  done
done

mkdir -p "$OUT"
{
echo "| run | generator | req/s | p50 ms | p99 ms | generator CPU % | target CPU % | errors |"
echo "|---|---|---|---|---|---|---|---|"
i=0
for r in "${RESULTS[@]}"; do
  i=$((i + 1)); set -- $r
  echo "| $i | $1 | $2 | $3 | $4 | $5 | $6 | $7 |"
done
echo
printf '%s\n' "${RESULTS[@]}" | python3 -c '
import sys, statistics
rows = [l.split() for l in sys.stdin if l.strip()]
med = {g: statistics.median(float(r[1]) for r in rows if r[0] == g) for g in ("infergate-loadtest", "oha", "wrk")}
print("| generator | median req/s | infergate-loadtest / generator |")
print("|---|---|---|")
ours = med["infergate-loadtest"]
for g, v in med.items():
    print(f"| {g} | {v:.0f} | {ours / v:.2f}x |")
'
echo
echo "load average before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$(nproc) cpus; $("$OHA" --version 2>/dev/null | head -1); wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'); $("$BIN" --version)"
} | tee "$OUT/tables.md"
python3 "$ROOT/bench/update_docs.py" loadtest "$OUT"
