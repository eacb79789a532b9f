#!/usr/bin/env bash
# Compares infergate's hyper REST server with a pingora ServeHttp app on the
# V2 infer path (POST /v2/models/simple/infer, built-in `simple` model).
# Both servers run on one core (taskset -c 0, one worker thread); wrk runs on
# another (taskset -c 1). Prints a markdown table of every run.
#
#   bench/http-layer/run.sh            # ROUNDS=2 DURATION=10s by default
#   ROUNDS=3 DURATION=20s bench/http-layer/run.sh
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
ROUNDS=${ROUNDS:-2}          # alternating pingora/hyper rounds at -c64
DURATION=${DURATION:-10s}
P_PORT=${P_PORT:-18181}      # pingora
H_PORT=${H_PORT:-18182}      # hyper (infergate)
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
PATH_=/v2/models/simple/infer
WORK=$(mktemp -d)
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
  sleep 0.5
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

source "$ROOT/scripts/lib.sh"
need_apt wrk

echo "## build" >&2
(cd "$ROOT" && timeout 1200 cargo build --release --bin infergate) >&2
(cd "$HERE" && timeout 1200 cargo build --release --bin v2-pingora) >&2
PINGORA_BIN="$HERE/target/release/v2-pingora"
HYPER_BIN="$ROOT/target/release/infergate"

echo "## start servers (cpu $SERVER_CPU)" >&2
taskset -c "$SERVER_CPU" "$PINGORA_BIN" "$P_PORT" >"$WORK/pingora.log" 2>&1 &
PIDS+=($!); P_PID=$!
TOKIO_WORKER_THREADS=1 taskset -c "$SERVER_CPU" "$HYPER_BIN" --builtin_models simple \
  --bind_address 127.0.0.1 --http_port "$H_PORT" --grpc_port 0 \
  --enable_latency_logging false >"$WORK/hyper.log" 2>&1 &
PIDS+=($!); H_PID=$!

post() { # port -> response body
  curl -sS --max-time 5 -X POST -H 'Content-Type: application/json' \
    --data-binary "$(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" "$HERE/post.lua")" \
    "http://127.0.0.1:$1$PATH_"
}
for port in "$P_PORT" "$H_PORT"; do
  for _ in $(seq 50); do post "$port" >/dev/null 2>&1 && break; sleep 0.2; done
done

echo "## verify" >&2
post "$P_PORT" >"$WORK/p.json"; post "$H_PORT" >"$WORK/h.json"
cat "$WORK/p.json" >&2; echo >&2
if ! cmp -s "$WORK/p.json" "$WORK/h.json"; then
  echo "responses differ:" >&2; diff "$WORK/p.json" "$WORK/h.json" >&2; exit 1
fi
echo "identical JSON from both servers" >&2

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }   # utime+stime, all threads

# run NAME PORT PID CONNS -> "name conns rps p50_ms p99_ms server_cpu%"
run() {
  local name=$1 port=$2 pid=$3 conns=$4 out t0 t1 secs
  t0=$(cpu_ticks "$pid")
  out=$(timeout 60 taskset -c "$LOAD_CPU" wrk -t1 -c"$conns" -d"$DURATION" --latency \
        -s "$HERE/post.lua" "http://127.0.0.1:$port$PATH_")
  t1=$(cpu_ticks "$pid")
  echo "$out" >"$WORK/wrk-$name-$conns-$RANDOM.txt"
  if echo "$out" | grep -q 'Non-2xx\|Socket errors'; then echo "$out" >&2; fi
  secs=${DURATION%s}
  echo "$out" | awk -v n="$name" -v c="$conns" -v cpu="$(( (t1 - t0) * 100 / $(getconf CLK_TCK) / secs ))" '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0;
                     if (v ~ /m$/) return v*60000; if (v ~ /s$/) return v*1000; return v }
    $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
    $1 == "Requests/sec:" { rps = $2 } $2 == "requests" && $3 == "in" { reqs = $1 }
    END { printf "%s %s %.0f %.3f %.3f %s %s\n", n, c, rps, p50, p99, cpu, reqs }'
}

rss() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
sleep 1
P_RSS0=$(rss "$P_PID" VmRSS); H_RSS0=$(rss "$H_PID" VmRSS)

echo "## load (wrk on cpu $LOAD_CPU, $DURATION each)" >&2
RESULTS=()
for _ in $(seq "$ROUNDS"); do
  RESULTS+=("$(run pingora "$P_PORT" "$P_PID" 64)"); echo "${RESULTS[-1]}" >&2
  RESULTS+=("$(run hyper "$H_PORT" "$H_PID" 64)");   echo "${RESULTS[-1]}" >&2
done
RESULTS+=("$(run pingora "$P_PORT" "$P_PID" 1)"); echo "${RESULTS[-1]}" >&2
RESULTS+=("$(run hyper "$H_PORT" "$H_PID" 1)");   echo "${RESULTS[-1]}" >&2

sleep 2

echo
echo "| run | server | conns | req/s | p50 ms | p99 ms | server CPU % |"
echo "|---|---|---|---|---|---|---|"
i=0
for r in "${RESULTS[@]}"; do
  i=$((i + 1)); set -- $r
  echo "| $i | $1 | $2 | $3 | $4 | $5 | $6 |"
done
echo
echo "| conns | median req/s pingora/hyper | median p50 pingora/hyper | median p99 pingora/hyper |"
echo "|---|---|---|---|"
printf '%s\n' "${RESULTS[@]}" | awk '
  function median(a, n,   i, j, t) {
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  { k = $1 SUBSEP $2; n[k]++; r[k, n[k]] = $3; p5[k, n[k]] = $4; p9[k, n[k]] = $5; cs[$2] = 1 }
  END {
    for (c in cs) {
      split("", a); split("", b)
      kp = "pingora" SUBSEP c; kh = "hyper" SUBSEP c
      for (i = 1; i <= n[kp]; i++) a[i] = r[kp, i]; for (i = 1; i <= n[kh]; i++) b[i] = r[kh, i]
      rr = median(a, n[kp]) / median(b, n[kh])
      for (i = 1; i <= n[kp]; i++) a[i] = p5[kp, i]; for (i = 1; i <= n[kh]; i++) b[i] = p5[kh, i]
      r5 = median(a, n[kp]) / median(b, n[kh])
      for (i = 1; i <= n[kp]; i++) a[i] = p9[kp, i]; for (i = 1; i <= n[kh]; i++) b[i] = p9[kh, i]
      r9 = median(a, n[kp]) / median(b, n[kh])
      printf "| %s | %.3f | %.3f | %.3f |\n", c, rr, r5, r9 }
  }' | sort -t'|' -k2,2nr
echo
served() { printf '%s\n' "${RESULTS[@]}" | awk -v n="$1" '$1 == n { s += $7 } END { print s }'; }
echo "| server | idle VmRSS before load (KiB) | idle VmRSS after load (KiB) | VmHWM (KiB) | requests served | threads |"
echo "|---|---|---|---|---|---|"
echo "| pingora | $P_RSS0 | $(rss "$P_PID" VmRSS) | $(rss "$P_PID" VmHWM) | $(served pingora) | $(rss "$P_PID" Threads) |"
echo "| hyper | $H_RSS0 | $(rss "$H_PID" VmRSS) | $(rss "$H_PID" VmHWM) | $(served hyper) | $(rss "$H_PID" Threads) |"
echo
echo "(RSS after load grows with requests served in both: DataPlane's metrics histograms"
echo " buffer samples until /metrics is scraped, which nothing does here.)"
echo
echo "pingora $(cd "$HERE" && cargo tree -i pingora --depth 0 -e normal 2>/dev/null | head -1 | awk '{print $2}'); $(nproc) cpus; wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}')"
