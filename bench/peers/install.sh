#!/usr/bin/env bash
# Installs the peers infergate is compared with, each apart from the others:
#   $PEERS_HOME/.venv-kserve    kserve 0.21.0 + scikit-learn (requirements-kserve.txt)
#   $PEERS_HOME/.venv-mlserver  mlserver 1.7.1 + mlserver-sklearn 1.7.1 (requirements-mlserver.txt)
#   nginx, haproxy              from Debian
# PEERS_HOME defaults to .cache/peers (ignored by git). Idempotent: a venv is
# reinstalled only when its requirements file changed.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
source "$HERE/lib.sh"
source "$ROOT/scripts/lib.sh"

need_apt nginx haproxy curl
mkdir -p "$PEERS_HOME"
# Debian's nginx starts a system service on install; the benchmarks run their
# own instances on loopback ports instead.
if command -v systemctl >/dev/null 2>&1; then systemctl disable --now nginx haproxy >/dev/null 2>&1 || true; fi

cd "$ROOT"
VENV="$PEERS_HOME/.venv-kserve" timeout 1800 bash scripts/venv.sh bench/peers/requirements-kserve.txt
VENV="$PEERS_HOME/.venv-mlserver" timeout 1800 bash scripts/venv.sh bench/peers/requirements-mlserver.txt
echo "peers installed: $("$PEERS_HOME/.venv-kserve/bin/python" -c 'import kserve, sklearn; print("kserve", kserve.__version__ if hasattr(kserve, "__version__") else "0.21.0", "sklearn", sklearn.__version__)'); $("$PEERS_HOME/.venv-mlserver/bin/mlserver" --version 2>/dev/null | head -1); $(nginx -v 2>&1); $(haproxy -v 2>&1 | head -1)"
