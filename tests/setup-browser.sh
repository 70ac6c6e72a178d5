#!/usr/bin/env bash
# The system packages the browser and proxy tiers need that pip cannot install, installed only
# when missing (run it as often as you like: with everything present it changes nothing and never
# calls apt-get):
#   - Debian's chromium, which the browser tests drive through Playwright (tests/browser);
#   - axe-core from the npm registry, injected into pages for the accessibility audit (npm, from
#     Debian, only when axe-core is missing and npm is too);
#   - nginx (nginx-light), for tests/deploy, which run deploy/nginx.conf under a real nginx.
# Installing needs root and apt-get; without them it says what is missing and stops. Those tests
# then skip locally; under CI=true they fail instead. `make setup-browser` runs this; `make test`
# runs it first.
set -euo pipefail
cd "$(dirname "$0")"
say() { echo "setup-browser: $*"; }

AXE=browser/node_modules/axe-core/axe.min.js
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ! -f "$AXE" ] && ! command -v npm >/dev/null; then missing+=(npm); fi
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then missing+=(nginx-light); fi

if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null || [ "$(id -u)" != 0 ]; then
    say "missing ${missing[*]}; installing them needs root and apt-get (the tests that need them skip)"
    exit 0
  fi
  say "installing ${missing[*]} with apt-get"
  # The tests start their own nginx; the package's service must not start (port 80 may be taken,
  # which would fail the install). A policy-rc.d that says no, only for this install.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -f "$AXE" ]; then
  missing+=(axe-core)
  say "installing axe-core@4 from npm into tests/browser/node_modules"
  mkdir -p browser
  npm install --silent --no-audit --no-fund --no-save --prefix browser axe-core@4 >/dev/null
fi
[ ${#missing[@]} -gt 0 ] || say "chromium, axe-core and nginx are present: nothing to install"
