#!/usr/bin/env bash
# (Re)builds a local EDGAR mirror for the fake EDGAR server (sluice-fakes) in
# <target-dir>: the committed fictional company in data/edgar-mirror, plus, when
# the recorded SEC fixtures sit beside the checkout (../shared/fixtures/sec), the
# Apple and Tesla files symlinked into EDGAR's layout and a company_tickers.json
# that merges the fixture's list with the fictional company. Idempotent.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SEED="$ROOT/data/edgar-mirror"

if [ "$#" -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 <target-dir>" >&2
  exit 2
fi
mkdir -p "$1"
TARGET="$(cd "$1" && pwd)"
case "$TARGET/" in
  "$SEED/"*) echo "edgar-mirror: the target must not be inside $SEED" >&2; exit 2 ;;
esac

cp -R "$SEED"/. "$TARGET"/

FIXTURES=""
if [ -d "$ROOT/../shared/fixtures/sec" ]; then
  FIXTURES="$(cd "$ROOT/../shared/fixtures/sec" && pwd)"
fi
if [ -z "$FIXTURES" ]; then
  echo "edgar-mirror: copied the fictional company into $TARGET (no SEC fixtures beside the checkout)"
  exit 0
fi

command -v python3 >/dev/null 2>&1 || { echo "edgar-mirror: python3 is needed to merge company_tickers.json" >&2; exit 1; }

linked=0
# link <fixture file> <path in the mirror>; a missing fixture is skipped.
link() {
  [ -f "$FIXTURES/$1" ] || return 0
  mkdir -p "$TARGET/$(dirname "$2")"
  ln -sfn "$FIXTURES/$1" "$TARGET/$2"
  linked=$((linked + 1))
}
link submissions_CIK0000320193_apple.json submissions/CIK0000320193.json
link filings/aapl-10-k-2024-11-01.html Archives/edgar/data/320193/000032019324000123/aapl-20240928.htm
link filings/aapl-10-q-2025-08-01.html Archives/edgar/data/320193/000032019325000073/aapl-20250628.htm
link submissions_CIK0001318605_tesla.json submissions/CIK0001318605.json
link submissions_CIK0001318605-submissions-001_tesla_page.json submissions/CIK0001318605-submissions-001.json
link submissions_CIK0001771340_individual.json submissions/CIK0001771340.json

python3 - "$FIXTURES/company_tickers.json" "$SEED/files/company_tickers.json" "$TARGET/files/company_tickers.json" <<'PY'
import json, sys
fixture, seed, out = sys.argv[1:4]
with open(fixture) as f:
    merged = json.load(f)
with open(seed) as f:
    extra = json.load(f)
known = {(e["cik_str"], e["ticker"]) for e in merged.values()}
next_key = max((int(k) for k in merged), default=-1) + 1
for entry in extra.values():
    if (entry["cik_str"], entry["ticker"]) not in known:
        merged[str(next_key)] = entry
        next_key += 1
with open(out, "w") as f:
    json.dump(merged, f, separators=(",", ":"))
PY
echo "edgar-mirror: copied the fictional company into $TARGET, linked $linked SEC fixture files, merged company_tickers.json"
