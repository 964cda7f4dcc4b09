#!/usr/bin/env bash
# Checks the dependency graph with cargo-deny (deny.toml says what is allowed and why):
#   licenses    every crate's license is on the allow list
#   advisories  no crate has a RustSec advisory that deny.toml does not excuse
#
# cargo-deny is installed by `scripts/bootstrap.sh tools` (pinned there). The advisories
# check needs the RustSec database, a git repository on github.com that cargo-deny fetches
# into ~/.cargo/advisory-dbs; no package registry ships it. When it cannot be fetched:
# a copy fetched before is used (its age is printed), else the check is SKIPPED with a
# message saying so. DENY_ADVISORIES=require turns the skip into a failure (for a
# machine that can reach github.com).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CARGO_DENY="$("$ROOT/scripts/bootstrap.sh" cargo-deny)"
cd "$ROOT"
deny() { "$CARGO_DENY" deny --locked --log-level error "$@"; }

deny check licenses
echo "[deny] licenses: ok" >&2

DB_DIR="${CARGO_HOME:-$HOME/.cargo}/advisory-dbs"
if fetch_error="$(deny fetch db 2>&1)"; then
  deny check advisories
  echo "[deny] advisories: ok (database fetched now)" >&2
elif ls -d "$DB_DIR"/*/.git >/dev/null 2>&1; then
  db="$(dirname "$(ls -d "$DB_DIR"/*/.git | head -1)")"
  age="$(git -C "$db" log -1 --format=%cs 2>/dev/null || echo unknown)"
  echo "[deny] the advisory database cannot be fetched; checking against the copy of $age" >&2
  deny --offline check advisories
  echo "[deny] advisories: ok (database of $age)" >&2
else
  reason="$(printf '%s\n' "$fetch_error" | grep -m1 -iE 'error|fail' || printf '%s\n' "$fetch_error" | tail -1)"
  msg="[deny] SKIPPED cargo deny check advisories: the RustSec advisory database (git, github.com) cannot be fetched from this machine and no copy exists in $DB_DIR ($reason)"
  if [ "${DENY_ADVISORIES:-}" = require ]; then
    echo "${msg/SKIPPED/FAILED}" >&2
    exit 1
  fi
  echo "$msg" >&2
fi
