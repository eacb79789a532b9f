#!/usr/bin/env bash
# The offline image build: no registry, nothing downloaded. Builds the two
# binaries, assembles the image layers from them and the onnxruntime wheel's
# library (deploy/scripts/assemble-roots.sh), then, when podman is
# installed, builds the images FROM scratch over those layers
# (deploy/images/offline/Containerfile.*) and writes their sizes.
#
#   bash deploy/scripts/build-images.sh                  # release binaries
#   PROFILE=debug bash deploy/scripts/build-images.sh    # CI: the debug ones
#
# Env: PROFILE (release|debug), OUT (default target/deploy), TAG (default
# latest), PODMAN=0 to stop after assembling, ORT_LIB (default: the wheel in
# .venv), CARGO_BUILD_TARGET (a target triple: builds into target/<triple>/,
# apart from the binaries others on a shared machine are running, at the
# cost of compiling every dependency once more).
set -euo pipefail
cd "$(dirname "$0")/../.."
PROFILE=${PROFILE:-release}
TARGET=${CARGO_TARGET_DIR:-target}
OUT=${OUT:-$TARGET/deploy}
TAG=${TAG:-latest}
case $PROFILE in
  release) cargo_profile=(--release) ;;
  debug) cargo_profile=() ;;
  *) echo "build-images: PROFILE must be release or debug" >&2; exit 2 ;;
esac
ORT_LIB=${ORT_LIB:-$(ls .venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* 2>/dev/null | head -1)}
[ -n "$ORT_LIB" ] || { echo "build-images: no onnxruntime wheel in .venv (bash scripts/venv.sh requirements.txt)" >&2; exit 1; }

bindir=$TARGET/${CARGO_BUILD_TARGET:+$CARGO_BUILD_TARGET/}$PROFILE

mkdir -p "$OUT/bin"
echo "==> infergate-predictor ($PROFILE)"
cargo build "${cargo_profile[@]}" --quiet -p infergate-predictor
cp "$bindir/infergate-predictor" "$OUT/bin/infergate-predictor"
echo "==> infergate without the predictor feature ($PROFILE)"
# That build replaces target/$PROFILE/infergate, the all-in-one build the
# end-to-end tests start (cargo does not link it back on its next no-op
# build): keep it aside and put it back, unless a build of someone else's
# replaced it meanwhile. On a machine shared with others, their tests that
# start target/$PROFILE/infergate in that minute see the transformer build.
all_in_one=$bindir/infergate
saved=$OUT/bin/.infergate-all-in-one
rm -f "$saved"
[ -f "$all_in_one" ] && cp -p "$all_in_one" "$saved"
cargo build "${cargo_profile[@]}" --quiet -p infergate-gateway --no-default-features --features mimalloc
cp "$all_in_one" "$OUT/bin/infergate-transformer"
if [ -f "$saved" ] && cmp -s "$all_in_one" "$OUT/bin/infergate-transformer"; then
  mv -f "$saved" "$all_in_one"
fi
rm -f "$saved"

echo "==> assembling the image layers in $OUT"
bash deploy/scripts/assemble-roots.sh "$OUT" "$OUT/bin/infergate-transformer" \
  "$OUT/bin/infergate-predictor" "$ORT_LIB" models/sklearn-iris

if [ "${PODMAN:-1}" = 0 ] || ! command -v podman >/dev/null; then
  echo "==> podman not installed (or PODMAN=0): image roots only, no images"
  exit 0
fi
echo "==> podman build (FROM scratch, offline)"
files=deploy/images/offline
build() { # NAME CONTAINERFILE [--build-arg ...]
  local name=$1 file=$2
  shift 2
  podman build --quiet --pull=never -f "$files/$file" -t "localhost/$name:$TAG" "$@" "$OUT/layers" >/dev/null
}
build infergate-base Containerfile.base
build infergate-transformer Containerfile.transformer --build-arg "BASE=localhost/infergate-base:$TAG"
build infergate-ort-cpu Containerfile.ort --build-arg "BASE=localhost/infergate-base:$TAG"
build infergate-predictor Containerfile.predictor --build-arg "ORT=localhost/infergate-ort-cpu:$TAG"
build infergate-predictor-iris Containerfile.model --build-arg "PREDICTOR=localhost/infergate-predictor:$TAG"
{
  printf 'profile %s\n' "$PROFILE"
  for name in infergate-base infergate-transformer infergate-ort-cpu infergate-predictor infergate-predictor-iris; do
    printf '%s %s\n' "$name" "$(podman image inspect --format '{{.Size}}' "localhost/$name:$TAG")"
  done
} > "$OUT/sizes.txt"
awk 'NR == 1 { print "==> image sizes (" $2 " binaries)"; next }
     { printf "%-28s %6.1f MB\n", $1, $2 / 1e6 }' "$OUT/sizes.txt"
