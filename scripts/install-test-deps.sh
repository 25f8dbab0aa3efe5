#!/usr/bin/env bash
# Install what the test suite needs outside Python: a Redis server for the shared rate-limit ledger's tests
# (tests/redisutil.py starts one on a free loopback port). Idempotent: does nothing when redis-server is there.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
case "$(uname -s)" in
  Darwin)
    brew install redis
    ;;
  *)
    if ! command -v apt-get >/dev/null 2>&1; then
      echo "install-test-deps: no redis-server and no apt-get: install Redis (redis-server) yourself" >&2
      exit 1
    fi
    as_root=()
    if [ "$(id -u)" != 0 ]; then
      as_root=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${as_root[@]}" apt-get -o DPkg::Lock::Timeout=300 update -qq
    "${as_root[@]}" apt-get -o DPkg::Lock::Timeout=300 install -y -qq redis-server >/dev/null
    ;;
esac
command -v redis-server >/dev/null
