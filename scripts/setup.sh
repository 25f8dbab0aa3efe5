#!/usr/bin/env bash
# Create .venv (if needed) and install kamsync with its test tools into it. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
case "$(uname -s)" in
  MINGW* | MSYS* | CYGWIN*) default_python=python ;; # Windows installs have no python3.exe
  *) default_python=python3 ;;
esac
PYTHON=${PYTHON:-$default_python}
. scripts/venv.sh
if [ ! -x "$VENV_PYTHON" ]; then
  "$PYTHON" -m venv .venv
  . scripts/venv.sh
fi
"$VENV_PYTHON" -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
"$VENV_PYTHON" -m pip install --quiet -e '.[test]'
