#!/usr/bin/env bash
# Idle resident memory (VmRSS) of the three servers, 3 s after start, no
# traffic: infergate-predictor serving models/ (iris, the MLP), infergate as
# a pass-through transformer in front of it, and infergate proxy with one
# pool. BIN (default target/release) picks the build, e.g. to compare two.
#   bash bench/memory/idle.sh            # builds target/release first
#   BIN=/tmp/old/target/release bash bench/memory/idle.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet --bins
  BIN=target/release
fi
PRED_BIN=${PRED_BIN:-$BIN}
conf=$(mktemp)
cat >"$conf" <<TOML
[listen]
address = "127.0.0.1:18805"
admin = "127.0.0.1:18806"
[pools.p]
backends = ["127.0.0.1:18801"]
[[routes]]
name = "all"
pool = "p"
TOML
"$PRED_BIN/infergate-predictor" --model_dir models --http_port 18801 --grpc_port 18802 >/dev/null 2>&1 &
P1=$!
"$BIN/infergate" --model_name sklearn-iris --predictor_host 127.0.0.1:18801 \
  --http_port 18803 --grpc_port 18804 >/dev/null 2>&1 &
P2=$!
"$BIN/infergate" proxy --config "$conf" >/dev/null 2>&1 &
P3=$!
trap 'kill $P1 $P2 $P3 2>/dev/null; wait; rm -f "$conf"' EXIT
sleep 3
rss() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
echo "| server | idle RSS MB |"
echo "|---|---|"
echo "| predictor (models/) | $(rss $P1) |"
echo "| transformer (pass-through) | $(rss $P2) |"
echo "| proxy | $(rss $P3) |"
