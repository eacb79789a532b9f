#!/usr/bin/env bash
# Creates a virtual environment ($VENV, default .venv) with the Python
# packages of the given requirements files, reinstalling only when one of
# them changed. Idempotent; safe to run every time. A file's sibling
# NAME-nodeps.txt (requirements-nodeps.txt beside requirements.txt), if there
# is one, is installed after it with --no-deps: for packages whose declared
# dependencies the venv must not pull (pip's requirements files cannot say so).
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
reqs=()
for req in "$@"; do
  reqs+=("$req")
  nodeps=${req%.txt}-nodeps.txt
  [ -f "$nodeps" ] && reqs+=("$nodeps")
done
want=$(cat "${reqs[@]}" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> installing Python packages: ${reqs[*]}"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
  for req in "${reqs[@]}"; do
    flags=()
    [[ $req == *-nodeps.txt ]] && flags=(--no-deps)
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "${flags[@]}" -r "$req"
  done
  echo "$want" > "$stamp"
fi
