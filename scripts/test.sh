#!/usr/bin/env bash
# Set everything up, then run the whole test suite (no Kameleoon account needed: tests use the sandbox) on every
# core, measuring the coverage of kamsync/ in every Python process the tests start, and print it. Fails when a
# test fails, when no test ran, or when the whole suite covers less than [tool.coverage.report] fail_under.
# Arguments go to pytest (`-n 0` runs the tests one after the other, `--processes` every kamsync command as a new
# process); a partial run prints its coverage but is not held to the threshold.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/install-test-deps.sh # what the tests need outside Python: a Redis server and a Chromium
. scripts/venv.sh
"$VENV_PYTHON" -m coverage erase
log=$(mktemp "${TMPDIR:-/tmp}/kamsync-tests.XXXXXX")
trap 'rm -f "$log"' EXIT

tests=0
# -u: through the pipe, pytest would otherwise print its progress in late chunks
"$VENV_PYTHON" -u -m coverage run -m pytest -n auto "$@" | tee "$log" || tests=$?
"$VENV_PYTHON" -m coverage combine --quiet || true # nothing to combine when no test ran
covered=0
if [ $# -eq 0 ]; then
  "$VENV_PYTHON" -m coverage report || covered=$?
else
  "$VENV_PYTHON" -m coverage report --fail-under=0 || covered=$?
fi
if total=$("$VENV_PYTHON" -m coverage report --format=total --fail-under=0 2>&1); then
  total="$total %"
else
  total="no data"
fi
echo "pytest: $(tail -n 1 "$log" | tr -d '=' | sed 's/^ *//; s/ *$//') | coverage of kamsync/: $total"
if [ "$tests" -ne 0 ]; then
  echo "FAILED: pytest exited $tests" >&2
  exit "$tests"
fi
if [ "$covered" -ne 0 ]; then
  echo "FAILED: coverage of kamsync/ is below the threshold ([tool.coverage.report] fail_under in pyproject.toml)" >&2
  exit "$covered"
fi
