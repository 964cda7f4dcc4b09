#!/usr/bin/env bash
# Fuzzes sluice-feedback's parsers of untrusted input: every cargo-fuzz target in fuzz/
# runs for SECONDS (default 60; `make fuzz FUZZ_SECONDS=...`), or for a number of
# executions instead when FUZZ_RUNS is set (`make fuzz FUZZ_RUNS=1000000`: the figure
# RELIABILITY.md asks for; no time limit then).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Stable Rust only: cargo-fuzz's nightly flags (-Z, sanitizers) are unlocked with
# RUSTC_BOOTSTRAP=1. AddressSanitizer is used when the toolchain ships its runtime,
# else no sanitizer (FUZZ_SANITIZER=none|address overrides). cargo-fuzz is installed
# from crates.io into .local/cargo on first use. Each target starts from its seeds
# (fuzz/seeds/<target>, plus the crate's own test fixtures for e-mail and review exports)
# and keeps what it learns in fuzz/corpus/<target> (git-ignored).
#
# Exits non-zero when any target crashes; the crashing input is then in
# fuzz/artifacts/<target>/ (replay it: scripts/fuzz.sh's output says how).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECONDS_PER_TARGET="${1:-${FUZZ_SECONDS:-60}}"
shift $(( $# > 0 ? 1 : 0 ))
case "$SECONDS_PER_TARGET" in
  ''|*[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2; exit 2 ;;
esac

CARGO_FUZZ_VERSION=0.13.2
INSTALL_ROOT="$ROOT/.local/cargo"
CACHE="${SLUICE_CACHE:-$HOME/.cache/sluice}"
LOGS="$ROOT/.local/fuzz-logs"
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="$CACHE/fuzz-target"

if ! "$INSTALL_ROOT/bin/cargo-fuzz" --version 2>/dev/null | grep -qF "$CARGO_FUZZ_VERSION"; then
  echo "[fuzz] installing cargo-fuzz $CARGO_FUZZ_VERSION into .local/cargo" >&2
  # Built in cargo's own temporary directory (removed afterwards); only the binary stays.
  env -u CARGO_TARGET_DIR cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --root "$INSTALL_ROOT" --quiet
fi
export PATH="$INSTALL_ROOT/bin:$PATH"

if [ -z "${FUZZ_SANITIZER:-}" ]; then
  sysroot="$(rustc --print sysroot)"
  host="$(rustc -vV | sed -n 's/^host: //p')"
  if ls "$sysroot/lib/rustlib/$host/lib/"*_rt.asan.a >/dev/null 2>&1; then
    FUZZ_SANITIZER=address
  else
    FUZZ_SANITIZER=none
  fi
fi

cd "$ROOT/fuzz"
if [ $# -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(cargo fuzz list); fi

# Release code with debug assertions (overflow checks) on: what CI's tests see, fast.
FLAGS=(--sanitizer "$FUZZ_SANITIZER" --debug-assertions)
build_start=$(date +%s)
echo "[fuzz] building ${#targets[@]} targets (sanitizer: $FUZZ_SANITIZER)" >&2
if [ $# -gt 0 ]; then
  for target in "${targets[@]}"; do cargo fuzz build "${FLAGS[@]}" "$target"; done
else
  cargo fuzz build "${FLAGS[@]}"
fi
FUZZ_RUNS="${FUZZ_RUNS:-}"
case "$FUZZ_RUNS" in
  '') budget=(-max_total_time="$SECONDS_PER_TARGET"); budget_words="${SECONDS_PER_TARGET}s" ;;
  *[!0-9]*) echo "FUZZ_RUNS must be a number of executions" >&2; exit 2 ;;
  *) budget=(-runs="$FUZZ_RUNS"); budget_words="$FUZZ_RUNS runs" ;;
esac
echo "[fuzz] built in $(( $(date +%s) - build_start ))s; $budget_words per target" >&2

mkdir -p "$LOGS"
failed=()
for target in "${targets[@]}"; do
  seeds=("seeds/$target")
  case "$target" in
    email) seeds+=("$ROOT/shared/feedback/tests/fixtures/email") ;;
    review_exports) seeds+=("$ROOT/shared/feedback/tests/fixtures/app_store" "$ROOT/shared/feedback/tests/fixtures/google_play") ;;
  esac
  mkdir -p "corpus/$target"
  log="$LOGS/$target.log"
  started=$(date +%s)
  if cargo fuzz run "${FLAGS[@]}" "$target" "corpus/$target" "${seeds[@]}" -- \
      "${budget[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -print_final_stats=1 >"$log" 2>&1; then
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
    echo "[fuzz] $target: ok, ${runs:-?} runs in $(( $(date +%s) - started ))s, corpus $(ls "corpus/$target" | wc -l) inputs" >&2
  else
    echo "[fuzz] $target: FAILED (log: $log)" >&2
    grep -E -A4 "panicked at|==ERROR|^SUMMARY|Test unit written|Failing input" "$log" | head -n 40 >&2 || tail -n 40 "$log" >&2
    echo "[fuzz] replay: cd fuzz && RUSTC_BOOTSTRAP=1 PATH=$INSTALL_ROOT/bin:\$PATH cargo fuzz run ${FLAGS[*]} $target artifacts/$target/<crash-file>" >&2
    failed+=("$target")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "[fuzz] crashed: ${failed[*]}" >&2
  exit 1
fi
echo "[fuzz] all ${#targets[@]} targets ran $budget_words without a crash" >&2
