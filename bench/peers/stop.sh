#!/usr/bin/env bash
# Stops a peer started by start.sh: `stop.sh KIND HTTP_PORT`, or `stop.sh all`.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
if [ "${1:-}" = all ]; then peer_stop_all; else peer_stop "$1" "$2"; fi
