#!/usr/bin/env bash
# Installs what the browser tests need that pip cannot: Debian's chromium (needs root and
# apt-get) and axe-core from the npm registry (injected into pages for the accessibility audit).
# Without them the browser tests skip locally; under CI=true they fail instead.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if [ ! -f browser/node_modules/axe-core/axe.min.js ]; then
  if ! command -v npm >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
  fi
  if command -v npm >/dev/null; then
    mkdir -p browser
    npm install --silent --no-audit --no-fund --no-save --prefix browser axe-core@4 >/dev/null
  fi
fi
