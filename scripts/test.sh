#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this):
# installs what it needs, then format check, clippy, build, and every test.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

bash scripts/venv.sh requirements.txt
need_apt cmake curl # pingora (infergate proxy) builds with cmake; its TLS test calls curl

echo "==> cargo fmt --check"
cargo fmt --all --check
# --- supply chain (issue 16, part 9): licences, bans and sources against
# deny.toml (advisories need the RustSec database, which cannot be fetched
# here; see deny.toml). cargo-deny is installed once into ~/.cargo/bin (about
# 5 min from crates.io on this machine; nothing on later runs). ---
if ! cargo deny --version >/dev/null 2>&1; then
  echo "==> installing cargo-deny (once)"
  cargo install --locked --quiet cargo-deny
fi
echo "==> cargo deny check licenses bans sources"
cargo deny --log-level error check licenses bans sources
# --- end supply chain ---
echo "==> cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "==> building the binaries the end-to-end tests start"
cargo build --workspace --bins --quiet

# The end-to-end tests must not skip the Python clients here, and snapshot
# tests must compare, never rewrite.
export INFERGATE_PYTHON="$PWD/.venv/bin/python" INFERGATE_REQUIRE_PYTHON=1 INSTA_UPDATE=no
echo "==> tests"
# The REST end-to-end suites run a second time with every server on hyper
# alone (`--http1_fast_path false`, through its environment variable), so
# that both HTTP/1.1 paths pass the same tests (issue 16, part 4).
HYPER_SUITES=(--test rest_api --test predictor_serving --test predictor_batching
  --test transformer --test transformer_upstream --test transformer_faults
  --test text_models --test python_clients)
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
  echo "==> REST end-to-end suites again, HTTP/1.1 on hyper only"
  INFERGATE_HTTP1_FAST_PATH=false cargo nextest run -p infergate-tests --no-fail-fast "${HYPER_SUITES[@]}"
else
  cargo test --workspace --no-fail-fast
  INFERGATE_HTTP1_FAST_PATH=false cargo test -p infergate-tests --no-fail-fast "${HYPER_SUITES[@]}"
fi

# --- deploy (issue 12): the transformer-only build, the images (assembled
# roots served under chroot, podman build) and every manifest checked.
# Last: it builds an infergate without the predictor feature, which takes
# target/debug/infergate's place while it runs (deploy/README.md). ---
bash deploy/scripts/check.sh
# --- end deploy ---
