#!/usr/bin/env bash
# Builds an arm64 Lambda zip per function with cargo-lambda (from .local/venv, with
# zig from the ziglang package as the cross linker) and prints their sizes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/.local/venv/bin:$PATH"
# A target folder of its own: cross builds do not wait on (or evict) the host build cache.
export CARGO_TARGET_DIR="${LAMBDA_TARGET_DIR:-$HOME/.cache/sluice/lambda-target}"
FUNCTIONS=(http-api ingest-validator etl-transformer price-updater account-worker migrator filing-fetcher llm-analyzer sse-notifier sse-stream chat-stream portfolio-analyst notifier)
rustup target list --installed | grep -q '^aarch64-unknown-linux-gnu$' || rustup target add aarch64-unknown-linux-gnu
args=()
for f in "${FUNCTIONS[@]}"; do args+=(--bin "$f"); done
cargo lambda build --release --arm64 --output-format zip "${args[@]}"
out="$CARGO_TARGET_DIR/lambda"
printf '\n%-20s %10s %12s\n' function "zip bytes" "zip MB"
for f in "${FUNCTIONS[@]}"; do
  zip="$out/$f/bootstrap.zip"
  bytes=$(stat -c %s "$zip")
  printf "%-20s %10s %12s\n" "$f" "$bytes" "$(awk -v b="$bytes" 'BEGIN { printf "%.2f", b / 1048576 }')"
done
