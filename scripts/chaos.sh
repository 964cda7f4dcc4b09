#!/usr/bin/env bash
# The fault figures of RELIABILITY.md (`make chaos`; not part of `make test`): each
# consumer SIGKILLed mid-work, PostgreSQL restarted in immediate mode mid-work, every
# message kind delivered three times, a burst of requests against one analysis's credits.
#
#   CHAOS_KILLS=5 CHAOS_PG_RESTARTS=1 CHAOS_BURST=20 make chaos    a short trial
#   CHAOS_ONLY=etl-transformer,price-updater                     some consumers only
#
# Needs the local services (`make services`). The report goes to stdout and .local/chaos/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sluice/target}"
[ -f .local/services.env ] || { echo "[chaos] no .local/services.env: run \`make services\` first" >&2; exit 1; }
cargo build -q -p sluice-chaos
set -a
# shellcheck disable=SC1091
. .local/services.env
set +a
echo "[chaos] machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p')" >&2
RUST_LOG="${RUST_LOG:-warn}" "$CARGO_TARGET_DIR/debug/sluice-chaos" run
