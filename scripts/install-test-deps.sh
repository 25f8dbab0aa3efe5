#!/usr/bin/env bash
# Install what the test suite needs beyond pip: a Chromium for the browser tests of `kamsync preview`, from the
# operating system's own packages (Debian's `chromium`), never a browser build downloaded by a Python or npm tool.
# Does nothing when one is already installed. The browser tests call this themselves when they find none.
set -euo pipefail
for name in chromium chromium-browser google-chrome google-chrome-stable; do
  if command -v "$name" >/dev/null 2>&1; then
    exit 0
  fi
done
for app in "/Applications/Chromium.app" "/Applications/Google Chrome.app"; do
  if [ -d "$app" ]; then
    exit 0
  fi
done
if ! command -v apt-get >/dev/null 2>&1; then
  echo "no Chromium found: install Chromium or Google Chrome with this system's package manager" >&2
  exit 1
fi
run=()
if [ "$(id -u)" -ne 0 ]; then
  run=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${run[@]}" apt-get update -qq
"${run[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null
