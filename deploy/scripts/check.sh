#!/usr/bin/env bash
# The deploy checks CI runs (scripts/test.sh calls this after the tests):
# the transformer-only build compiles cleanly and links no ONNX Runtime,
# the image layers assemble and (with podman) build, the assembled roots
# serve the iris seed request under chroot, and every manifest renders,
# validates and passes checkov (deploy/tests).
#   bash deploy/scripts/check.sh                 # debug binaries (CI)
#   PROFILE=release bash deploy/scripts/check.sh # the images deploy/README.md sizes
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh
export PROFILE=${PROFILE:-debug}
# Each step says how long it took: the whole must stay a few minutes of CI.
step() { echo "==> $1 (deploy checks at ${SECONDS}s)"; }

command -v kubectl >/dev/null || need_apt kubernetes-client
# podman only builds the images; INFERGATE_DEPLOY_PODMAN=0 skips installing it.
[ "${INFERGATE_DEPLOY_PODMAN:-1}" = 0 ] || need_apt podman
# checkov pins boto3/packaging below what the main .venv needs: its own venv.
VENV=.venv-deploy bash scripts/venv.sh deploy/requirements.txt

step "cargo clippy, infergate without the predictor feature"
cargo clippy --quiet -p infergate-gateway --no-default-features --features mimalloc -- -D warnings
# The transformer-only build links neither ONNX Runtime's bindings nor the
# storage or archive crates (it and examples/image-transformer).
for pkg in "infergate-gateway --no-default-features --features mimalloc" infergate-example-image-transformer; do
  # shellcheck disable=SC2086
  linked=$(cargo tree -p $pkg -e normal --prefix none | grep -E '^(ort|object_store|tar|zip|infergate-predictor) v' || true)
  if [ -n "$linked" ]; then
    echo "deploy: $pkg links the predictor's crates:" >&2
    echo "$linked" | sort -u >&2
    exit 1
  fi
done

step "images"
PODMAN=${INFERGATE_DEPLOY_PODMAN:-1} bash deploy/scripts/build-images.sh

step "deploy tests"
export INFERGATE_DEPLOY_OUT=${OUT:-${CARGO_TARGET_DIR:-target}/deploy} INFERGATE_DEPLOY_REQUIRE=1
PODMAN_OK=${INFERGATE_DEPLOY_PODMAN:-1}
[ "$PODMAN_OK" = 1 ] || INFERGATE_DEPLOY_REQUIRE=0
PYTHONDONTWRITEBYTECODE=1 .venv-deploy/bin/python -m pytest deploy/tests -v -p no:cacheprovider
step "done"
