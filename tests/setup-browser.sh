#!/usr/bin/env bash
# Installs what the browser tests need that pip cannot: Debian's chromium (needs root and
# apt-get). Without it the browser tests skip locally; under CI=true they fail instead.
set -euo pipefail
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
