#!/usr/bin/env bash
# Set everything up, then show kamsync's everyday loop against the embedded sandbox, on a copy of
# examples/repo-layout: status → pull a new experiment → edit → diff → push → an edit made "in the
# Kameleoon UI" refused by push and adopted by pull → the pre-push hook letting a push through, then
# blocking one that would hide an edit made in the UI. No Kameleoon account needed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
ROOT=$PWD
KAMSYNC="$ROOT/.venv/bin/kamsync"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kamsync-demo.XXXXXX")
export HOME="$WORK/home" XDG_CACHE_HOME="$WORK/home/.cache" XDG_STATE_HOME="$WORK/home/.state"
mkdir -p "$HOME"

"$KAMSYNC" sandbox --port 0 --state "$WORK/sandbox.json" >"$WORK/sandbox.log" 2>&1 &
SANDBOX_PID=$!
trap 'kill $SANDBOX_PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  [ -s "$WORK/sandbox.log" ] && break
  sleep 0.1
done
export KAMELEOON_API_URL=$(head -n 1 "$WORK/sandbox.log")
export KAMELEOON_CLIENT_ID=sandbox-client KAMELEOON_CLIENT_SECRET=sandbox-secret

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@" || echo "(exit code $?)"; }

cp -R "$ROOT/examples/repo-layout" "$WORK/repo"
cd "$WORK/repo"
git init -q -b main
git add -A
git -c user.name=Demo -c user.email=demo@example.com commit -q -m "Import experiments"
echo "Sandbox at $KAMELEOON_API_URL; demo repository at $WORK/repo"

step "$KAMSYNC" status
step "$KAMSYNC" pull --experiment 100003
git add -A && git -c user.name=Demo -c user.email=demo@example.com commit -q -m "Map the free-shipping experiment"

echo "console.log('hero: red button, v2');" >> experiments/100001-homepage-hero/variations/red-button/variation.js
step "$KAMSYNC" diff
step "$KAMSYNC" push --dry-run
step "$KAMSYNC" push
step "$KAMSYNC" status

echo
echo "Someone now edits the Big headline variation in the Kameleoon UI…"
"$ROOT/.venv/bin/python" - <<PY
import httpx
httpx.patch("$KAMELEOON_API_URL/_sandbox/variations/200002", json={"cssCode": ".headline { color: purple; }"})
PY
echo "h1 { letter-spacing: .02em; }" >> experiments/100001-homepage-hero/variations/big-headline/variation.css
step "$KAMSYNC" push
git checkout -q -- experiments/100001-homepage-hero/variations/big-headline/variation.css
step "$KAMSYNC" pull
step "$KAMSYNC" status

echo
echo "The pre-push hook: pushing to main checks that Kameleoon holds no edit the push would hide…"
GIT="git -c user.name=Demo -c user.email=demo@example.com"
$GIT add -A && $GIT commit -q -m "Adopt the UI edit"
git init -q --bare "$WORK/remote.git"
git remote add origin "$WORK/remote.git"
git push -q origin main
step "$KAMSYNC" hook install
echo "Release notes" > NOTES.md && $GIT add NOTES.md && $GIT commit -q -m "Notes"
step git push origin main
"$ROOT/.venv/bin/python" - <<PY
import httpx
httpx.patch("$KAMELEOON_API_URL/_sandbox/variations/200001", json={"jsCode": "console.log('tweaked in the UI');"})
PY
echo "console.log('hero: red button, v3');" >> experiments/100001-homepage-hero/variations/red-button/variation.js
$GIT commit -q -am "Red button v3"
step git push origin main
echo
echo "Demo repository left at $WORK/repo"
