#!/usr/bin/env bash
# The CUDA checks, for a machine with an NVIDIA GPU (e.g. the lent GPU
# machine): installs the onnxruntime-gpu wheel into .venv-gpu, points the
# tests at its library and runs the --device tests. Bounded: one test file.
set -euo pipefail
cd "$(dirname "$0")/.."
nvidia-smi -L
python3 -m venv .venv-gpu
.venv-gpu/bin/pip install --quiet --disable-pip-version-check "onnxruntime-gpu==1.31.1" "nvidia-cudnn-cu12" "nvidia-cublas-cu12" "nvidia-cuda-runtime-cu12" "nvidia-cufft-cu12" "nvidia-curand-cu12"
capi=$(echo .venv-gpu/lib/python3*/site-packages/onnxruntime/capi)
lib=$(ls "$capi"/libonnxruntime.so.* | head -1)
# The CUDA provider finds cuDNN / cuBLAS through the loader path.
nv=$(echo .venv-gpu/lib/python3*/site-packages/nvidia)
export LD_LIBRARY_PATH="$capi:$(ls -d "$nv"/*/lib | tr '\n' ':')${LD_LIBRARY_PATH:-}"
export INFERGATE_ORT_GPU_LIBRARY="$PWD/$lib"
cargo build --release --bins --quiet
cargo test --release -p infergate-tests --test predictor_cuda -- --nocapture
