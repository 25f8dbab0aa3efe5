#!/usr/bin/env bash
# Install what the test suite needs outside Python, from the operating system's own packages, only when missing:
# a Redis server for the shared rate-limit ledger's tests (tests/redisutil.py starts one on a free loopback port)
# and a Chromium for the browser tests of `kamsync preview` (Debian's `chromium`; never a browser build
# downloaded by a Python or npm tool). apt-get on Linux, Homebrew on macOS, Chocolatey on Windows (where Chrome,
# found where it installs itself, does for a Chromium). Idempotent: does nothing when both are there. scripts/test.sh and the
# tests that need one of them call it.
set -euo pipefail

have_browser() {
  local name app
  for name in chromium chromium-browser google-chrome google-chrome-stable; do
    command -v "$name" >/dev/null 2>&1 && return 0
  done
  for app in "/Applications/Chromium.app" "/Applications/Google Chrome.app"; do
    [ -d "$app" ] && return 0
  done
  # Windows: Chrome and Chromium install themselves outside PATH (tests/cdp.py looks in the same places)
  # (bash cannot name ProgramFiles(x86): printenv can)
  for root in "${PROGRAMFILES:-}" "$(printenv 'ProgramFiles(x86)' || true)" "${LOCALAPPDATA:-}"; do
    for app in "Google/Chrome" "Chromium"; do
      [ -n "$root" ] && [ -f "$root/$app/Application/chrome.exe" ] && return 0
    done
  done
  return 1
}

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
have_browser || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0

case "$(uname -s)" in
  Darwin)
    for package in "${missing[@]}"; do
      case "$package" in
        redis-server) brew install redis ;;
        chromium) brew install --cask chromium ;;
      esac
    done
    ;;
  MINGW* | MSYS* | CYGWIN*)
    if ! command -v choco >/dev/null 2>&1; then
      echo "install-test-deps: missing ${missing[*]} and no choco: install them (a Redis server with redis-server.exe on PATH, Chrome or Chromium)" >&2
      exit 1
    fi
    for package in "${missing[@]}"; do
      case "$package" in
        redis-server) choco install -y --no-progress redis ;; # a Windows port of Redis: redis-server.exe
        chromium) choco install -y --no-progress chromium ;;
      esac
    done
    ;;
  *)
    if ! command -v apt-get >/dev/null 2>&1; then
      echo "install-test-deps: missing ${missing[*]} and no apt-get: install them with this system's package manager" >&2
      exit 1
    fi
    as_root=()
    if [ "$(id -u)" != 0 ]; then
      as_root=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${as_root[@]}" apt-get -o DPkg::Lock::Timeout=300 update -qq
    "${as_root[@]}" apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    ;;
esac
command -v redis-server >/dev/null
have_browser
