#!/usr/bin/env bash
# Installs what the browser tests need that pip cannot: Debian's chromium (needs root and
# apt-get) and axe-core from the npm registry (injected into pages for the accessibility audit);
# and nginx (nginx-light) for tests/deploy, which run deploy/nginx.conf under a real nginx.
# Without them those tests skip locally; under CI=true they fail instead.
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
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  # The tests start their own nginx; the package's service must not start (port 80 may be taken,
  # which would fail the install). A policy-rc.d that says no, only for this install.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null
fi
