#!/usr/bin/env bash
# Set everything up, then run the whole test suite (no Kameleoon account needed: tests use the sandbox).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m pytest "$@"
