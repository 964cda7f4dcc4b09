#!/usr/bin/env bash
# Installs what the project needs and the machine may lack. Idempotent.
#  - a Python virtual environment in .local/venv with the pinned tools of
#    scripts/requirements.txt (moto server, awscli, cfn-lint, sam, cargo-lambda)
#  - rustfmt and clippy for the toolchain in use
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.local/venv"
STAMP="$VENV/.requirements.sha256"
want="$(sha256sum "$ROOT/scripts/requirements.txt" | cut -d' ' -f1)"

if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
  echo "[bootstrap] installing pinned Python tools into .local/venv (first run takes a few minutes)" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip >/dev/null
  "$VENV/bin/pip" install -q -r "$ROOT/scripts/requirements.txt"
  echo "$want" > "$STAMP"
fi

if command -v rustup >/dev/null 2>&1; then
  rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt >/dev/null
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy >/dev/null
fi
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl >/dev/null; }
