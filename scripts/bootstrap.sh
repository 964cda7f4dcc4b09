#!/usr/bin/env bash
# Installs what the project needs and the machine may lack. Idempotent.
#   scripts/bootstrap.sh stack   the Python tools of the local stack (moto server, awscli)
#   scripts/bootstrap.sh tools   the build and lint tools (cfn-lint, sam, cargo-lambda), rustfmt, clippy,
#                                cargo-deny
#   scripts/bootstrap.sh cargo-deny   installs cargo-deny if needed and prints its path
# The Python tools go into one virtual environment, .local/venv, each set pinned in its
# requirements file. cargo-deny is built from crates.io (pinned below) into the cache
# outside the clone, so fresh clones reuse it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.local/venv"
CARGO_DENY_VERSION=0.20.2
TOOLS="${SLUICE_CACHE:-$HOME/.cache/sluice}/tools"

# Ask Sluice's local embedding model: WordLlama's static embedding (16 MB of token vectors
# and its tokenizer), taken from the PyPI wheel and checked against a pinned sha256 (the
# wheel's publisher is not one we know). Unpacked once into the cache outside the clone.
WORDLLAMA_WHEEL=wordllama-0.4.0.post1-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl
WORDLLAMA_SHA256=42c2c88907ace0b0681ac6f9092d6a300a6409a5d2d61071a3fb5e7159370c97
MODELS="${SLUICE_CACHE:-$HOME/.cache/sluice}/models"
install_static_model() {
  local dir="$MODELS/wordllama-0.4.0.post1"
  [ -f "$dir/l2_supercat_256.safetensors" ] && [ -f "$dir/l2_supercat_tokenizer_config.json" ] && return
  echo "[bootstrap] fetching the local embedding model (wordllama 0.4.0.post1 wheel, 19 MB) into $dir" >&2
  local work; work="$(mktemp -d)"
  "$VENV/bin/pip" download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    --platform manylinux2014_x86_64 --python-version 3.11 -d "$work" wordllama==0.4.0.post1 >&2
  echo "$WORDLLAMA_SHA256  $work/$WORDLLAMA_WHEEL" | sha256sum -c --quiet - \
    || { echo "[bootstrap] the wordllama wheel does not match its pinned sha256" >&2; rm -rf "$work"; exit 1; }
  python3 - "$work/$WORDLLAMA_WHEEL" "$dir.tmp" <<'PY'
import sys, zipfile, os
wheel, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
with zipfile.ZipFile(wheel) as z:
    for member, name in [("wordllama/weights/l2_supercat_256.safetensors", "l2_supercat_256.safetensors"),
                         ("wordllama/tokenizers/l2_supercat_tokenizer_config.json", "l2_supercat_tokenizer_config.json")]:
        with z.open(member) as src, open(os.path.join(out, name), "wb") as dst:
            dst.write(src.read())
PY
  rm -rf "$dir"; mv "$dir.tmp" "$dir"; rm -rf "$work"
}

install_cargo_deny() {
  if ! "$TOOLS/bin/cargo-deny" --version 2>/dev/null | grep -qF " $CARGO_DENY_VERSION"; then
    echo "[bootstrap] building cargo-deny $CARGO_DENY_VERSION into $TOOLS (once; a few minutes)" >&2
    env -u CARGO_TARGET_DIR cargo install cargo-deny --version "$CARGO_DENY_VERSION" --locked --root "$TOOLS" --quiet >&2
  fi
}

set_name="${1:-stack}"
case "$set_name" in
  stack|tools) ;;
  cargo-deny) install_cargo_deny; echo "$TOOLS/bin/cargo-deny"; exit 0 ;;
  *) echo "usage: $0 stack|tools|cargo-deny" >&2; exit 2 ;;
esac
REQUIREMENTS="$ROOT/scripts/requirements-$set_name.txt"
STAMP="$VENV/.requirements-$set_name.sha256"
want="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"

if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
  echo "[bootstrap] installing the pinned $set_name tools into .local/venv" >&2
  [ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQUIREMENTS"
  echo "$want" > "$STAMP"
fi

if [ "$set_name" = tools ] && command -v rustup >/dev/null 2>&1; then
  rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt >/dev/null
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy >/dev/null
fi
[ "$set_name" = stack ] && install_static_model
[ "$set_name" = tools ] && install_cargo_deny
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl >/dev/null; }
