#!/usr/bin/env bash
# infergate proxy against nginx and haproxy, side by side in one run
# (docs/benchmarks.md, "Proxy"): the same upstream (infergate-loadtest mock,
# V2 REST and gRPC, no latency), called directly and through each proxy
# (configs beside this script; one worker thread each), with
# infergate-loadtest:
#  1. REST (V2 JSON) closed loop at concurrency 64: requests/s;
#  2. REST at concurrency 1: latency each proxy adds over the direct call;
#  3. REST open loop at 70% of nginx's rate from 1: p99;
#  4. gRPC ModelInfer at concurrency 64 (nginx: grpc_pass; haproxy: h2);
#  5. resident memory of each proxy, idle after start and idle after the load.
# Upstream and proxies on cpu 0, the generator on cpu 1. Bounded: DURATION
# (default 5s) per target and round, ROUNDS (2). Writes $OUT/tables.md and
# the "proxy" block of docs/benchmarks.md.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
DURATION=${DURATION:-5s}
OUT=${OUT:-bench/out/proxy}
source bench/lib.sh
need_apt nginx haproxy

UP_REST=18900 UP_GRPC=18901 IG=18910 IG_ADMIN=18911
NGX_REST=18920 NGX_GRPC=18921 HAP_REST=18930 HAP_GRPC=18931
run="$ROOT/$OUT/run"
rm -rf "$run"
mkdir -p "$run"

# fill TEMPLATE OUTPUT: the @KEY@ placeholders of the bench configs.
fill() {
  sed -e "s|@DIR@|$run|g" -e "s|@UP_REST@|127.0.0.1:$UP_REST|g" -e "s|@UP_GRPC@|127.0.0.1:$UP_GRPC|g" \
    -e "s|@PORT@|$IG|g" -e "s|@ADMIN@|$IG_ADMIN|g" "$1" >"$2"
}

taskset -c "$SERVER_CPU" "$BIN/infergate-loadtest" mock --http-port $UP_REST \
  --grpc-port $UP_GRPC --threads 1 >"$run/mock.log" 2>&1 &
PIDS+=($!)
bench_wait_ready $UP_REST

fill bench/proxy/proxy.toml.in "$run/proxy.toml"
taskset -c "$SERVER_CPU" "$BIN/infergate" proxy --config "$run/proxy.toml" >"$run/infergate-proxy.log" 2>&1 &
IG_PID=$!
PIDS+=($IG_PID)

sed -e "s|@REST@|$NGX_REST|g" -e "s|@GRPC@|$NGX_GRPC|g" bench/proxy/nginx.conf.in >"$run/nginx.conf.tmp"
fill "$run/nginx.conf.tmp" "$run/nginx.conf"
taskset -c "$SERVER_CPU" nginx -p "$run" -c "$run/nginx.conf" >"$run/nginx.log" 2>&1 &
NGX_PID=$!
PIDS+=($NGX_PID)

sed -e "s|@REST@|$HAP_REST|g" -e "s|@GRPC@|$HAP_GRPC|g" bench/proxy/haproxy.cfg.in >"$run/haproxy.cfg.tmp"
fill "$run/haproxy.cfg.tmp" "$run/haproxy.cfg"
taskset -c "$SERVER_CPU" haproxy -db -f "$run/haproxy.cfg" >"$run/haproxy.log" 2>&1 &
HAP_PID=$!
PIDS+=($HAP_PID)

for p in $IG $NGX_REST $HAP_REST; do bench_wait_ready $p; done

# rss_kb PID: the process and its children (nginx's worker), in kB.
rss_kb() {
  local total=0 p
  for p in "$1" $(pgrep -P "$1" || true); do total=$((total + $(bench_rss_kb "$p"))); done
  echo "$total"
}
rss_idle_start="$(rss_kb $IG_PID) $(rss_kb $NGX_PID) $(rss_kb $HAP_PID)"

rest_targets="direct=v2+http://127.0.0.1:$UP_REST infergate=v2+http://127.0.0.1:$IG \
  nginx=v2+http://127.0.0.1:$NGX_REST haproxy=v2+http://127.0.0.1:$HAP_REST"
# shellcheck disable=SC2086
$LT --rounds "$ROUNDS" -m simple -c 64 --json "$OUT/rest-c64.json" $rest_targets >/dev/null
# shellcheck disable=SC2086
$LT --rounds "$ROUNDS" -m simple -c 1 --json "$OUT/rest-c1.json" $rest_targets >/dev/null
rate=$(python3 -c "import json,sys; t={x['label']: x for x in json.load(open(sys.argv[1]))['targets']}; print(int(t['nginx']['rps'] * 0.7))" "$OUT/rest-c64.json")
# shellcheck disable=SC2086
$LT --rounds "$ROUNDS" -m simple -r "$rate" -c 64 --json "$OUT/rest-open-loop.json" $rest_targets >/dev/null
$LT --rounds "$ROUNDS" -m simple -c 64 --json "$OUT/grpc-c64.json" \
  direct=grpc://127.0.0.1:$UP_GRPC infergate=grpc://127.0.0.1:$IG \
  nginx=grpc://127.0.0.1:$NGX_GRPC haproxy=grpc://127.0.0.1:$HAP_GRPC >/dev/null
sleep 2
rss_idle_after="$(rss_kb $IG_PID) $(rss_kb $NGX_PID) $(rss_kb $HAP_PID)"

{
  python3 bench/report.py "$OUT"/rest-c64.json "$OUT"/rest-c1.json "$OUT"/rest-open-loop.json "$OUT"/grpc-c64.json
  echo
  echo "Open loop at $rate requests/s (70% of nginx's closed-loop rate at c64)."
  python3 bench/proxy/summary.py "$OUT" "$rss_idle_start" "$rss_idle_after"
} | tee "$OUT/tables.md"
python3 bench/update_docs.py proxy "$OUT"
