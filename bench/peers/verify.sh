#!/usr/bin/env bash
# Checks that the peers install and serve: trains an iris model, starts the
# KServe sklearn predictor, a KServe identity transformer in front of it and
# the MLServer sklearn runtime on loopback, sends one V1 and one V2 request to
# each and a 2-second load with infergate-loadtest, then stops them. Bounded:
# every start waits at most PEER_READY_TIMEOUT (120 s), every load 2 s.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
source "$HERE/lib.sh"
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BASE=${BASE_PORT:-18300}
WORK=$(mktemp -d)
trap 'peer_stop_all; rm -rf "$WORK"' EXIT INT TERM

bash "$HERE/install.sh"
(cd "$ROOT" && CARGO_TARGET_DIR="$TARGET_DIR" cargo build --release -q -p infergate-loadtest)
LT="$TARGET_DIR/release/infergate-loadtest"
"$PEERS_HOME/.venv-kserve/bin/python" "$HERE/train_iris.py" "$WORK/iris" >/dev/null

peer_start kserve iris "$WORK/iris" "$BASE" $((BASE + 1))
peer_start kserve-transformer iris "127.0.0.1:$BASE" $((BASE + 10)) $((BASE + 11))
peer_start mlserver iris "$WORK/iris" $((BASE + 100)) $((BASE + 101))

V1='{"instances": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]}'
V2='{"inputs": [{"name": "input-0", "shape": [2, 4], "datatype": "FP64", "data": [6.8, 2.8, 4.8, 1.4, 6.0, 3.4, 4.5, 1.6]}]}'
post() { curl -sS --fail-with-body --max-time 10 -H 'Content-Type: application/json' -d "$2" "http://127.0.0.1:$1$3"; echo; }
echo "kserve      V1: $(post "$BASE" "$V1" /v1/models/iris:predict)"
echo "kserve      V2: $(post "$BASE" "$V2" /v2/models/iris/infer)"
echo "transformer V1: $(post $((BASE + 10)) "$V1" /v1/models/iris:predict)"
echo "mlserver    V2: $(post $((BASE + 100)) "$V2" /v2/models/iris/infer)"

printf '%s' "$V1" >"$WORK/v1.json"
printf '%s' "$V2" >"$WORK/v2.json"
"$LT" run --no-progress -m iris -c 4 -d 2s -w 0s --input-data "$WORK/v1.json" \
  "kserve=v1+http://127.0.0.1:$BASE" "kserve-transformer=v1+http://127.0.0.1:$((BASE + 10))"
"$LT" run --no-progress -m iris -c 4 -d 2s -w 0s --input-data "$WORK/v2.json" \
  "kserve=v2+http://127.0.0.1:$BASE" "mlserver=v2+http://127.0.0.1:$((BASE + 100))" \
  "mlserver-grpc=grpc://127.0.0.1:$((BASE + 101))"
echo "peers verified"
