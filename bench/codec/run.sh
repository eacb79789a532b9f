#!/usr/bin/env bash
# Codec cost side by side: infergate's criterion benchmarks (proto/benches/
# codecs.rs) and KServe's Python codec on the same 1x1000 FP32 tensor, in one
# run. Prints a markdown table with the ratio. Bounded: criterion measures 5 s
# per benchmark, the Python side a few seconds.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
VENV=.venv-bench bash scripts/venv.sh bench/requirements.txt >&2

crit=$(cargo bench -q -p infergate-proto --bench codecs -- --warm-up-time 2 --measurement-time 5 \
  --output-format bencher 2>/dev/null | grep '^test ')
kserve=$(.venv-bench/bin/python bench/codec/kserve_codec.py)

ns() { echo "$crit" | awk -v n="$1" '$2 == n { gsub(",", "", $5); print $5 }'; }
us() { echo "$kserve" | awk -v n="$1" '$2 == n { print $3 }'; }
ig_json=$(ns v2_1x1000_fp32/json_decode_encode)
ig_bin=$(ns v2_1x1000_fp32/binary_decode_encode)
ks_json=$(us json_decode_encode_us)
ks_bin=$(us binary_decode_encode_us)

echo "| benchmark | time |"
echo "|---|---|"
echo "$crit" | awk '{ gsub(",", "", $5); printf "| %s | %.2f us |\n", $2, $5 / 1000 }'
echo
echo "| V2 REST decode + encode, 1x1000 FP32 | infergate | KServe 0.21 (Python) | KServe / infergate |"
echo "|---|---|---|---|"
awk -v a="$ig_json" -v b="$ks_json" 'BEGIN { printf "| JSON | %.1f us | %.1f us | %.0fx |\n", a/1000, b, b/(a/1000) }'
awk -v a="$ig_bin" -v b="$ks_bin" 'BEGIN { printf "| binary extension | %.2f us | %.1f us | %.0fx |\n", a/1000, b, b/(a/1000) }'
