# Start/stop helpers for the peers (sourced). Each peer runs on loopback in a
# process group of its own (setsid), with its pid in $PEERS_HOME/run and its
# log beside it; start waits (bounded) until /v2/health/ready answers 200.
#
#   source bench/peers/lib.sh
#   peer_start kserve iris /tmp/iris 18300 18301        # KServe sklearn predictor
#   peer_start kserve-transformer iris 127.0.0.1:18300 18310 18311   # identity transformer, V1 to the predictor
#   peer_start mlserver iris /tmp/iris 18400 18401      # MLServer sklearn runtime
#   peer_start kserve-st minilm DIR 18620 18621         # KServe + sentence-transformers (bench/text)
#   peer_start kserve-fastembed minilm DIR 18640 18641  # KServe + fastembed (bench/text)
#   peer_start nginx - 127.0.0.1:18300 18500 -           # nginx reverse proxy to an upstream
#   peer_start haproxy - 127.0.0.1:18300 18510 -         # haproxy reverse proxy to an upstream
#   peer_start nginx-grpc - 127.0.0.1:18301 18520 -      # nginx grpc_pass to a gRPC upstream
#   peer_stop kserve 18300; peer_stop_all
#
# PEER_CPUS pins a peer with taskset (e.g. PEER_CPUS=0); PEER_READY_TIMEOUT
# bounds the wait (seconds, default 120).

PEERS_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PEERS_ROOT=$(cd "$PEERS_LIB_DIR/../.." && pwd)
PEERS_HOME=${PEERS_HOME:-$PEERS_ROOT/.cache/peers}
PEER_READY_TIMEOUT=${PEER_READY_TIMEOUT:-120}

_peer_pin() { if [ -n "${PEER_CPUS:-}" ]; then echo "taskset -c $PEER_CPUS"; fi; }

# _peer_spawn PIDFILE LOG CMD...: CMD in a new session (its pid is its process
# group), written to PIDFILE by the session leader itself, so this holds
# whether or not setsid had to fork.
_peer_spawn() {
  local pidfile=$1 log=$2; shift 2
  rm -f "$pidfile"
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" $(_peer_pin) "$@" >"$log" 2>&1 </dev/null &
  for _ in $(seq 100); do [ -s "$pidfile" ] && return 0; sleep 0.05; done
  echo "peer did not start: $*" >&2
  return 1
}

# peer_wait_ready PORT PID LOG: until GET /v2/health/ready is 200, the process dies, or the timeout.
peer_wait_ready() {
  local port=$1 pid=$2 log=$3 deadline=$((SECONDS + PEER_READY_TIMEOUT))
  while [ $SECONDS -lt $deadline ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "peer on port $port exited during start-up; log $log:" >&2; tail -30 "$log" >&2; return 1
    fi
    if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/v2/health/ready")" = 200 ]; then
      return 0
    fi
    sleep 0.5
  done
  echo "peer on port $port not ready after ${PEER_READY_TIMEOUT}s; log $log:" >&2; tail -30 "$log" >&2
  return 1
}

# peer_start KIND NAME MODEL_DIR|PREDICTOR_HOST HTTP_PORT GRPC_PORT [EXTRA ARGS...]
#   KIND: kserve (MODEL_DIR holds model.joblib), kserve-transformer (PREDICTOR_HOST
#   host:port of a V1 predictor; pass --predictor_protocol v2 etc. as extra args),
#   mlserver (MODEL_DIR holds model.joblib), nginx and haproxy (a plain HTTP/1.1
#   reverse proxy, one worker, keep-alive to the upstream host:port; NAME and
#   GRPC_PORT unused).
peer_start() {
  local kind=$1 name=$2 src=$3 http=$4 grpc=$5; shift 5
  local run="$PEERS_HOME/run" pid
  mkdir -p "$run"
  local log="$run/$kind-$http.log" pidfile="$run/$kind-$http.pid"
  case $kind in
    kserve)
      _peer_spawn "$pidfile" "$log" "$PEERS_HOME/.venv-kserve/bin/python" "$PEERS_LIB_DIR/kserve_sklearn.py" \
        --model_name "$name" --model_dir "$src" --http_port "$http" --grpc_port "$grpc" "$@" || return 1
      ;;
    kserve-st | kserve-fastembed)
      # bench/text: KServe's Python model server with sentence-transformers
      # or fastembed (MODEL_DIR: the model's files), from .venv-text.
      _peer_spawn "$pidfile" "$log" "$PEERS_HOME/.venv-text/bin/python" "$PEERS_ROOT/bench/text/${kind/-/_}.py" \
        --model_name "$name" --model_dir "$src" --http_port "$http" --grpc_port "$grpc" "$@" || return 1
      ;;
    kserve-transformer)
      _peer_spawn "$pidfile" "$log" "$PEERS_HOME/.venv-kserve/bin/python" "$PEERS_LIB_DIR/kserve_transformer.py" \
        --model_name "$name" --predictor_host "$src" --http_port "$http" --grpc_port "$grpc" "$@" || return 1
      ;;
    mlserver)
      local repo="$run/mlserver-$http"
      # MLServer loads every model folder it finds: start from an empty repo.
      rm -rf "$repo"
      mkdir -p "$repo/$name"
      cat >"$repo/$name/model-settings.json" <<JSON
{"name": "$name", "implementation": "mlserver_sklearn.SKLearnModel",
 "parameters": {"uri": "$(cd "$src" && pwd)/model.joblib", "version": "v1"}}
JSON
      echo '{"debug": false}' >"$repo/settings.json"
      MLSERVER_HOST=127.0.0.1 MLSERVER_HTTP_PORT=$http MLSERVER_GRPC_PORT=$grpc \
        MLSERVER_METRICS_PORT=${MLSERVER_METRICS_PORT:-$((http + 2))} \
        _peer_spawn "$pidfile" "$log" "$PEERS_HOME/.venv-mlserver/bin/mlserver" start "$repo" "$@" || return 1
      ;;
    nginx | nginx-grpc)
      # One worker, keep-alive to the upstream host:port: proxy_pass over
      # HTTP/1.1, or (nginx-grpc) grpc_pass with h2c on both sides.
      local dir="$run/$kind-$http" listen="127.0.0.1:$http" location
      location='proxy_pass http://upstream_host; proxy_http_version 1.1; proxy_set_header Connection "";'
      if [ "$kind" = nginx-grpc ]; then
        listen="$listen http2; http2_max_requests 1000000"
        location='grpc_pass grpc://upstream_host;'
      fi
      mkdir -p "$dir"
      cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir/body; proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi; uwsgi_temp_path $dir/uwsgi; scgi_temp_path $dir/scgi;
  upstream upstream_host { server $src; keepalive 128; }
  server {
    listen $listen;
    keepalive_requests 1000000;
    location / { $location }
  }
}
CONF
      _peer_spawn "$pidfile" "$log" nginx -p "$dir" -c "$dir/nginx.conf" || return 1
      ;;
    haproxy)
      local dir="$run/haproxy-$http"
      mkdir -p "$dir"
      cat >"$dir/haproxy.cfg" <<CONF
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
  http-reuse always
frontend bench
  bind 127.0.0.1:$http
  default_backend predictor
backend predictor
  server p1 $src
CONF
      _peer_spawn "$pidfile" "$log" haproxy -db -f "$dir/haproxy.cfg" || return 1
      ;;
    *) echo "peer_start: unknown kind '$kind' (kserve, kserve-transformer, kserve-st, kserve-fastembed, mlserver, nginx, nginx-grpc, haproxy)" >&2; return 2 ;;
  esac
  pid=$(cat "$pidfile")
  if [ "$kind" = nginx-grpc ]; then
    # h2c only: ready when the port takes connections.
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$http") 2>/dev/null && break; sleep 0.05; done
  elif ! peer_wait_ready "$http" "$pid" "$log"; then peer_stop "$kind" "$http"; return 1; fi
  echo "peer ready: $kind $name http=127.0.0.1:$http grpc=127.0.0.1:$grpc pid=$pid" >&2
}

# peer_stop KIND HTTP_PORT: TERM the peer's process group, KILL it after 5 s.
peer_stop() {
  local pidfile="$PEERS_HOME/run/$1-$2.pid" pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

peer_stop_all() {
  local f base
  for f in "$PEERS_HOME"/run/*.pid; do
    [ -e "$f" ] || continue
    base=$(basename "$f" .pid)
    peer_stop "${base%-*}" "${base##*-}"
  done
}
