#!/usr/bin/env bash
# What the browser tests need (tests/web_app.rs, and tests/sse.rs's
# `the_web_app_shows_a_published_event`): Debian's chromium (installed with apt-get when
# missing; the tests drive it headless), playwright-core and axe-core from
# tests/browser/package-lock.json (npm ci; it never downloads a browser).
# Idempotent; `make setup` runs it. Exit status 0 even when chromium cannot be installed (the
# test then skips and says why); non-zero when node/npm or the npm packages cannot be set up.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { printf '[browser] %s\n' "$*" >&2; }

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian's chromium (apt-get)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core; } >/dev/null 2>&1 \
      || log "apt-get could not install chromium; the browser test will skip"
  else
    log "chromium is missing and cannot be installed here (needs root and apt-get); the browser test will skip"
  fi
fi

if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing node and npm (apt-get)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm; } >/dev/null 2>&1
  fi
fi
command -v npm >/dev/null 2>&1 || { log "npm is missing"; exit 1; }

DIR="$ROOT/tests/browser"
STAMP="$DIR/node_modules/.package-lock.sha256"
want="$(sha256sum "$DIR/package-lock.json" | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
  log "installing playwright-core and axe-core (npm ci in tests/browser)"
  # playwright-core has no install script: it never downloads a browser build.
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$DIR" --no-audit --no-fund --loglevel=error >&2 || { log "npm ci failed"; exit 1; }
  echo "$want" > "$STAMP"
fi
