#!/usr/bin/env bash
# Rolling restart under load (docs/reliability.md, part 7): open-loop traffic
# through transformer -> predictor while every replica of each is sent SIGTERM
# and restarted in turn, as Kubernetes rolls a deployment. As there, a
# Service stands in front of each tier: an `infergate proxy` that sends
# traffic to the ready replicas (health check on /v2/health/ready every
# 200 ms) and moves a refused connect to another replica.
#
#   loadtest -> proxy :19300 -> transformer t1 :19100, t2 :19110
#                               -> proxy :19200 -> predictor p1 :19000, p2 :19010
#
# infergate's own shutdown does the rest: on SIGTERM readiness turns false
# at once while the listeners keep serving for --drain_grace_seconds (3 s),
# then they close and requests in flight finish. The load generator must
# report zero failed requests. Bounded: RATE (400/s) for DURATION (60 s).
# GRACE (3) is --drain_grace_seconds; GRACE=0 is the control: the listeners
# close at SIGTERM, before the proxies' checks have seen readiness turn false.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
OUT=${OUT:-bench/out/rolling-restart}
DURATION=${DURATION:-60s}
RATE=${RATE:-400}
source bench/lib.sh

models=$(mktemp -d); cp -r models/sklearn-iris "$models/"
declare -A PID

start() { # start NAME: one replica, by its name's port
  local name=$1 port
  case $name in
    p1) port=19000 ;; p2) port=19010 ;; t1) port=19100 ;; t2) port=19110 ;;
  esac
  if [[ $name == p* ]]; then
    "$BIN/infergate-predictor" --model_dir "$models" --intra_op_threads 1 --drain_grace_seconds "${GRACE:-3}" \
      --bind_address 127.0.0.1 --http_port $port --grpc_port $((port + 1)) >>"$OUT/$name.log" 2>&1 &
  else
    "$BIN/infergate" --model_name sklearn-iris --predictor_host 127.0.0.1:19200 --drain_grace_seconds "${GRACE:-3}" \
      --bind_address 127.0.0.1 --http_port $port --grpc_port $((port + 1)) >>"$OUT/$name.log" 2>&1 &
  fi
  PID[$name]=$!
  PIDS+=($!)
  bench_wait_ready $port
}

proxy() { # proxy PORT BACKEND...: a proxy with a health-checked pool
  local port=$1; shift
  local conf=$OUT/proxy-$port.toml backends
  backends=$(printf '"%s",' "$@")
  cat >"$conf" <<TOML
[listen]
address = "127.0.0.1:$port"
admin = "127.0.0.1:$((port + 90))"
threads = 1
[pools.replicas]
backends = [${backends%,}]
[pools.replicas.health]
path = "/v2/health/ready"
interval_ms = 200
timeout_ms = 200
rise = 1
fall = 1
[[routes]]
name = "all"
pool = "replicas"
TOML
  "$BIN/infergate" proxy --config "$conf" >"$OUT/proxy-$port.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$((port + 90))/ready" >/dev/null && return 0; sleep 0.1; done
  echo "proxy on $port not ready" >&2; return 1
}

rm -f "$OUT"/*.log
start p1; start p2
proxy 19200 127.0.0.1:19000 127.0.0.1:19010
start t1; start t2
proxy 19300 127.0.0.1:19100 127.0.0.1:19110
echo '{"instances": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]}' >"$OUT/iris-v1.json"

"$BIN/infergate-loadtest" run --no-progress -w 1s -d "$DURATION" -r "$RATE" --arrival poisson -c 64 \
  -m sklearn-iris --input-data "$OUT/iris-v1.json" --validate --json "$OUT/load.json" \
  v1+http://127.0.0.1:19300 >"$OUT/load.txt" &
load=$!

# The roll: each replica in turn, predictors first, as a deployment's
# maxUnavailable 1 would; the next waits until the new one is ready.
sleep 5
: >"$OUT/roll.txt"
for name in p1 p2 t1 t2; do
  t0=$(date +%s.%N)
  kill -TERM "${PID[$name]}"
  wait "${PID[$name]}" || true
  t1=$(date +%s.%N)
  start "$name"
  t2=$(date +%s.%N)
  printf '%s stopped after %.1f s (drain), ready again %.1f s later\n' "$name" \
    "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)" | tee -a "$OUT/roll.txt"
  sleep 3
done
wait $load

retries=$(curl -s http://127.0.0.1:19390/metrics http://127.0.0.1:19290/metrics |
  awk '/^infergate_proxy_retries_total/ {s += $2} END {print s + 0}')
python3 - "$OUT" "$retries" <<'PY' | tee "$OUT/tables.md"
import json, sys
out, retries = sys.argv[1], sys.argv[2]
t = json.load(open(f"{out}/load.json"))["targets"][0]
o = t["open_loop"]
lat = t["latency_ms"]
errors = t["errors"]["total"] + o["missed"]
print("| requests | ok | failed | achieved rate | p50 ms | p99 ms | max ms | connect retries by the proxies |")
print("|---|---|---|---|---|---|---|---|")
print(f"| {t['requests']} | {t['ok']} | {errors} | {o['achieved_rate']:.0f}/s | {lat['p50']:.2f} | {lat['p99']:.2f} | {lat['max']:.1f} | {retries} |")
print()
print(open(f"{out}/roll.txt").read().strip().replace("\n", "; ") + ".")
print()
if errors == 0:
    print("Result: zero failed requests.")
else:
    print(f"Result: {errors} FAILED: {json.dumps(t['errors'])}, missed {o['missed']}.")
sys.exit(0 if errors == 0 else 1)
PY
