#!/usr/bin/env bash
# Creates a virtual environment ($VENV, default .venv) with the Python
# packages of the given requirements files, reinstalling only when one of
# them changed. Idempotent; safe to run every time.
#   scripts/venv.sh requirements.txt
#   VENV=.venv-bench scripts/venv.sh bench/requirements.txt
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating $VENV"
  "$PY" -m venv "$VENV"
fi
stamp=$VENV/.requirements.sha256
want=$(cat "$@" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> installing Python packages: $*"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
  for req in "$@"; do
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$req"
  done
  echo "$want" > "$stamp"
fi
