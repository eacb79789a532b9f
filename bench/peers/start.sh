#!/usr/bin/env bash
# Starts one peer in the background and waits until it is ready.
#   bench/peers/start.sh kserve iris /tmp/iris 18300 18301
#   bench/peers/start.sh kserve-transformer iris 127.0.0.1:18300 18310 18311
#   bench/peers/start.sh mlserver iris /tmp/iris 18400 18401
#   bench/peers/start.sh nginx - 127.0.0.1:18300 18500 -
# Stop it with bench/peers/stop.sh KIND HTTP_PORT (or `all`).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[ $# -ge 5 ] || { sed -n '2,7p' "$0" >&2; exit 2; }
peer_start "$@"
