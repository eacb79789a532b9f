#!/usr/bin/env bash
# infergate as a transformer against KServe's Python transformer, side by
# side in one run (docs/benchmarks.md): the same predictor
# (infergate-predictor serving the iris model), the same V1 request, called
# directly and through each transformer (identity pre/post, V1 to the
# predictor), and, for scale, through nginx and haproxy as plain proxies, at
# concurrency 1 and 64; then the same with gRPC callers and a grpc-v2
# predictor, infergate against nginx's grpc_pass. Servers on cpu 0,
# generator on cpu 1.
# Bounded: DURATION (default 10s) per target and round, ROUNDS (2).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
OUT=${OUT:-bench/out/transformer}
source bench/lib.sh
bash bench/peers/install.sh >&2

iris=$(mktemp -d); cp -r models/sklearn-iris "$iris/"
bench_serve 18600 "$BIN/infergate-predictor" --model_dir "$iris"
bench_serve 18610 "$BIN/infergate" --model_name sklearn-iris --predictor_host 127.0.0.1:18600
PEER_CPUS=$SERVER_CPU peer_start kserve-transformer sklearn-iris 127.0.0.1:18600 18620 18621 --enable_latency_logging false
# For scale: a plain reverse proxy (no decoding, no conversion), one worker each.
PEER_CPUS=$SERVER_CPU peer_start nginx - 127.0.0.1:18600 18630 -
PEER_CPUS=$SERVER_CPU peer_start haproxy - 127.0.0.1:18600 18640 -
# The gRPC upstream: infergate (gRPC callers, --predictor_protocol grpc-v2)
# against nginx's grpc_pass, both in front of the predictor's gRPC port.
bench_serve 18650 "$BIN/infergate" --model_name sklearn-iris --predictor_host 127.0.0.1:18601 --predictor_protocol grpc-v2
PEER_CPUS=$SERVER_CPU peer_start nginx-grpc - 127.0.0.1:18601 18660 -

echo '{"instances": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]}' >"$OUT/iris-v1.json"
for c in 1 64; do
  $LT --rounds "$ROUNDS" -m sklearn-iris -c "$c" --input-data "$OUT/iris-v1.json" --json "$OUT/transformer-c$c.json" --plot "$OUT/plots/c$c" \
    direct=v1+http://127.0.0.1:18600 infergate=v1+http://127.0.0.1:18610 kserve=v1+http://127.0.0.1:18620 \
    nginx=v1+http://127.0.0.1:18630 haproxy=v1+http://127.0.0.1:18640 >/dev/null
  $LT --rounds "$ROUNDS" -m sklearn-iris -c "$c" --input-data "$OUT/iris-v1.json" --json "$OUT/transformer-grpc-c$c.json" \
    direct=grpc://127.0.0.1:18601 infergate=grpc://127.0.0.1:18651 nginx=grpc://127.0.0.1:18660 >/dev/null
done
{
  python3 bench/report.py "$OUT"/transformer-c1.json "$OUT"/transformer-c64.json \
    "$OUT"/transformer-grpc-c1.json "$OUT"/transformer-grpc-c64.json
  echo; echo "REST (V1 callers, a v1 predictor):"
  python3 bench/transformer/added_latency.py "$OUT"/transformer-c1.json "$OUT"/transformer-c64.json
  echo; echo "gRPC (gRPC callers, a grpc-v2 predictor; nginx with grpc_pass):"
  python3 bench/transformer/added_latency.py "$OUT"/transformer-grpc-c1.json "$OUT"/transformer-grpc-c64.json
} | tee "$OUT/tables.md"
python3 bench/update_docs.py transformer "$OUT"
