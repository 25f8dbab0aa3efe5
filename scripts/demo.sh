#!/usr/bin/env bash
# Set everything up, then show kamsync's everyday loop against the embedded sandbox, on a copy of
# examples/repo-layout: status → pull a new experiment → edit → diff → push → an edit made "in the
# Kameleoon UI" refused by push and adopted by pull → the pre-push hook letting a push through, then
# blocking one that would hide an edit made in the UI. No Kameleoon account needed; everything it makes
# lives in one temporary folder, removed at the end.
#
# KAMSYNC_BIN: a folder holding the `kamsync` and `python` to use (default: .venv's, set up first).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
if [ -z "${KAMSYNC_BIN:-}" ]; then
  bash scripts/setup.sh
  . scripts/venv.sh
  KAMSYNC_BIN="$ROOT/$VENV_BIN"
fi
# Steps show `kamsync …` as you would type it, not the path of a virtual environment.
export PATH="$KAMSYNC_BIN:$PATH"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kamsync-demo.XXXXXX")
SANDBOX_PID=
finish() {
  if [ -n "$SANDBOX_PID" ]; then kill "$SANDBOX_PID" 2>/dev/null || true; wait "$SANDBOX_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap finish EXIT
export HOME="$WORK/home" XDG_CACHE_HOME="$WORK/home/.cache" XDG_STATE_HOME="$WORK/home/.state"
export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=Demo GIT_AUTHOR_EMAIL=demo@example.com
export GIT_COMMITTER_NAME=Demo GIT_COMMITTER_EMAIL=demo@example.com
mkdir -p "$HOME"

kamsync sandbox --port 0 --state "$WORK/sandbox.json" >"$WORK/sandbox.log" 2>&1 &
SANDBOX_PID=$!
for _ in $(seq 100); do
  [ -s "$WORK/sandbox.log" ] && break
  sleep 0.1
done
KAMELEOON_API_URL=$(head -n 1 "$WORK/sandbox.log")
export KAMELEOON_API_URL KAMELEOON_CLIENT_ID=sandbox-client KAMELEOON_CLIENT_SECRET=sandbox-secret

scene() { printf '\n\033[1;34m== %s\033[0m\n' "$*"; }
say() { printf '%s\n' "$*"; }
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@" || say "(exit code $?)"; }
ui_edit() { # what someone does in the Kameleoon web editor: the sandbox's /_sandbox/ routes imitate it
  python - "$KAMELEOON_API_URL/_sandbox/variations/$1" "$2" "$3" <<'PY'
import sys, httpx
httpx.patch(sys.argv[1], json={sys.argv[2]: sys.argv[3]}).raise_for_status()
PY
}

cp -R "$ROOT/examples/repo-layout" "$WORK/repo"
cd "$WORK/repo"
git init -q -b main
git add -A
git commit -q -m "Import experiments"

scene "A repository mapping two experiments (examples/repo-layout), and a local Kameleoon (the sandbox)"
say "The sandbox answers at $KAMELEOON_API_URL; the repository is a fresh git clone of the example."
say "status compares every mapped file with what Kameleoon holds: all in sync to begin with."
step kamsync status

scene "Map a third experiment: pull writes its files and adds it to kamsync.yaml"
say "Experiment 100003 exists in Kameleoon but not in the repository yet."
step kamsync pull --experiment 100003
git add -A && git commit -q -m "Map the free-shipping experiment"

scene "Edit a variation locally, look at the difference, then send it"
echo "console.log('hero: red button, v2');" >>experiments/100001-homepage-hero/variations/red-button/variation.js
say "diff shows Kameleoon → local, per field."
step kamsync diff
git commit -q -am "Red button v2"
say "Committed. A dry run shows the plan: one PATCH, only the changed field; nothing is sent."
step kamsync push --dry-run
step kamsync push
say "Kameleoon holds the committed code now: status --changed lists no field, only the count per state."
step kamsync status --changed

scene "Someone edits the Big headline variation in the Kameleoon UI, while you change the same field"
ui_edit 200002 cssCode ".headline { color: purple; }"
echo "h1 { letter-spacing: .02em; }" >>experiments/100001-homepage-hero/variations/big-headline/variation.css
say "push refuses to overwrite an edit made outside git, writes nothing, and names the way out (exit 3)."
step kamsync push
say "Drop the local change and adopt the UI edit instead: pull brings it in as a merge for the next commit."
git checkout -q -- experiments/100001-homepage-hero/variations/big-headline/variation.css
step kamsync pull
say "Committing the merge makes the UI edit part of history; every field is in sync again."
git add -A && git commit -q -m "Adopt the UI edit"
step kamsync status --changed

scene "The pre-push hook: every push to main first checks that it hides no edit made in Kameleoon"
git init -q --bare "$WORK/remote.git"
git remote add origin "$WORK/remote.git"
git push -q origin main
say "The repository now has a remote, origin; install the hook (check mode: it never writes Kameleoon)."
step kamsync hook install
say "A push that changes no mapped file costs no request and goes through."
echo "Release notes" >NOTES.md && git add NOTES.md && git commit -q -m "Notes"
step git push origin main
say "Now the red button is tweaked in the Kameleoon UI, and a commit changes the same variation."
ui_edit 200001 jsCode "console.log('tweaked in the UI');"
echo "console.log('hero: red button, v3');" >>experiments/100001-homepage-hero/variations/red-button/variation.js
git commit -q -am "Red button v3"
step git push origin main
say "The hook refused the push: variation 200001 was edited in the Kameleoon UI and changed in this commit"
say "too, so deploying the commit would overwrite the UI edit. Nothing reached the remote repository. The way"
say "out: \`kamsync pull\` merges the UI edit into the file, then commit and push again."

scene "Done"
say "The sandbox is stopped and the temporary folder removed."
