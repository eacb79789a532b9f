#!/usr/bin/env bash
# Creates .venv with the Python packages the project needs (test clients,
# model tooling), reinstalling only when a requirements file changed.
# Idempotent; safe to run every time.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(cat "$@" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> installing Python packages: $*"
  .venv/bin/pip install --quiet --disable-pip-version-check --upgrade pip
  for req in "$@"; do
    .venv/bin/pip install --quiet --disable-pip-version-check -r "$req"
  done
  echo "$want" > "$stamp"
fi
