#!/usr/bin/env bash
# The CSV export benchmark of BENCHMARKS.md (`make bench` runs it after the load benchmark;
# alone: scripts/bench-csv.sh). The clean rows of a generated KPI file (about 1,000,000)
# go into `kpis` of a fresh database (untimed), then `GET /v1/kpis` with `Accept: text/csv`
# is streamed through the HTTP API served by the measuring process: rows/s, bytes, and the
# serving process's peak RSS at 100,000 rows and at the last row (constant memory: similar).
#
#   BENCH_CSV_ROWS=1002000     rows of the generated file (default: enough for 1,000,000 clean rows)
#   BENCH_CSV_RUNS=3           runs (the median is reported; >= 3 to write BENCHMARKS.md)
#   BENCH_SEED=...             generator seed (default 20240601)
#   BENCH_WRITE=0|1            never / always rewrite the figures of BENCHMARKS.md
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sluice/target}"
DEFAULT_ROWS=1002000
ROWS="${BENCH_CSV_ROWS:-$DEFAULT_ROWS}"
RUNS="${BENCH_CSV_RUNS:-3}"
SEED="${BENCH_SEED:-20240601}"
CHECKPOINT=100000
if [ -n "${BENCH_WRITE:-}" ]; then WRITE="$BENCH_WRITE"
elif [ "$ROWS" = "$DEFAULT_ROWS" ] && [ "$RUNS" -ge 3 ]; then WRITE=1
else WRITE=0; fi
log() { printf '[bench-csv] %s\n' "$*" >&2; }

[ -f .local/services.env ] || { log "no .local/services.env: run \`make services\` first"; exit 1; }
log "building sluice-bench (release)"
cargo build --release -q -p sluice-bench --bin sluice-bench
BIN="$CARGO_TARGET_DIR/release/sluice-bench"
set -a
# shellcheck disable=SC1091
. .local/services.env
set +a

BENCH_DIR="$ROOT/.local/bench"
RUN_DIR="$BENCH_DIR/csv-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$RUN_DIR"
# The generator of the load benchmark, in its own process; the file is reused while its size matches.
FILE="$BENCH_DIR/kpis-$ROWS-s$SEED.csv"
GEN="$FILE.gen.json"
if [ -s "$FILE" ] && [ -s "$GEN" ] && python3 -c 'import json,os,sys; sys.exit(0 if json.load(open(sys.argv[2]))["bytes"] == os.path.getsize(sys.argv[1]) else 1)' "$FILE" "$GEN"; then
  log "reusing $FILE"
else
  log "generating $ROWS rows into $FILE"
  "$BIN" gen-kpis --rows "$ROWS" --seed "$SEED" --out "$FILE.tmp" | grep '^{"bench":' > "$GEN.tmp"
  mv "$FILE.tmp" "$FILE"; mv "$GEN.tmp" "$GEN"
fi

for i in $(seq 1 "$RUNS"); do
  log "run $i/$RUNS: load the rows, then stream GET /v1/kpis as CSV"
  if command -v psql >/dev/null; then psql "$DATABASE_URL" -XqAtc CHECKPOINT >/dev/null 2>&1 || true; fi
  sync
  if ! "$BIN" csv-export --file "$FILE" --checkpoint "$CHECKPOINT" > "$RUN_DIR/run-$i.out" 2> "$RUN_DIR/run-$i.log"; then
    log "run $i failed; see $RUN_DIR/run-$i.log"; tail -n 5 "$RUN_DIR/run-$i.log" >&2; exit 1
  fi
  grep '^{"bench":"csv-export"' "$RUN_DIR/run-$i.out" | tail -n 1 > "$RUN_DIR/run-$i.json"
done
{
  echo "nproc=$(nproc)"
  echo "cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
  echo "kernel=$(uname -sr)"
  echo "date=$(date -u +%Y-%m-%dT%H:%MZ)"
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
  if command -v psql >/dev/null; then
    echo "postgres=$(psql "$DATABASE_URL" -XAtc 'SHOW server_version' 2>/dev/null || echo unknown)"
  fi
} > "$RUN_DIR/machine.txt"

python3 - "$RUN_DIR" "$RUNS" "$WRITE" "$ROOT/BENCHMARKS.md" "$ROWS" <<'PY'
import json, os, statistics, sys
run_dir, runs, write, doc, file_rows = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4], int(sys.argv[5])
rs = [json.load(open(os.path.join(run_dir, f"run-{i}.json"))) for i in range(1, runs + 1)]
machine = dict(l.rstrip("\n").split("=", 1) for l in open(os.path.join(run_dir, "machine.txt")) if "=" in l)
med = statistics.median
MEM_RATIO_LIMIT = 1.25
lines = []
add = lines.append
add("### Figures")
add("")
add(f"Measured {machine.get('date', '?')} at commit `{machine.get('commit', '?')}` with `make bench` (`scripts/bench-csv.sh`"
    + ("" if file_rows == 1002000 else f", `BENCH_CSV_ROWS={file_rows}`") + f"), {runs} runs.")
add("")
add(f"- Machine: {machine.get('nproc', '?')} CPUs (`nproc`), {machine.get('cpu', '?')}, "
    f"{int(machine.get('mem_kb', 0)) / 1048576:.1f} GiB memory, {machine.get('kernel', '?')}; noisy, shared; "
    f"PostgreSQL {machine.get('postgres', '?')}, the server and the client on it.")
add(f"- Export: {rs[0]['table_rows']:,} rows (every KPI row of the table), {rs[0]['at_end']['bytes'] / 1e6:.1f} MB of CSV.")
add("")
add("| run | first byte s | 100k rows: s | rows/s | peak RSS MB | all rows: s | rows/s | MB/s | peak RSS MB | baseline RSS MB |")
add("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for i, r in enumerate(rs, 1):
    c, e = r["at_checkpoint"], r["at_end"]
    add(f"| {i} | {r['first_byte_s']:.2f} | {c['seconds']:.2f} | {c['rows_per_s']:,.0f} | {c['peak_rss_mb']:.1f} | "
        f"{e['seconds']:.2f} | {e['rows_per_s']:,.0f} | {e['bytes'] / 1e6 / e['seconds']:.1f} | {e['peak_rss_mb']:.1f} | {r['baseline_rss_mb']:.1f} |")
mc = lambda k: med([r["at_checkpoint"][k] for r in rs])
me = lambda k: med([r["at_end"][k] for r in rs])
add(f"| **median** | {med([r['first_byte_s'] for r in rs]):.2f} | {mc('seconds'):.2f} | {mc('rows_per_s'):,.0f} | **{mc('peak_rss_mb'):.1f}** | "
    f"{me('seconds'):.2f} | **{me('rows_per_s'):,.0f}** | {med([r['at_end']['bytes'] / 1e6 / r['at_end']['seconds'] for r in rs]):.1f} | "
    f"**{me('peak_rss_mb'):.1f}** | {med([r['baseline_rss_mb'] for r in rs]):.1f} |")
add("")
ratio = me("peak_rss_mb") / mc("peak_rss_mb")
add(f"- **Peak RSS at {rs[0]['at_end']['rows']:,} rows ÷ at {rs[0]['at_checkpoint']['rows']:,} rows (medians): {ratio:.2f}x** — "
    f"constant memory (≤ {MEM_RATIO_LIMIT}x for 10x the rows): **{'met' if ratio <= MEM_RATIO_LIMIT else 'NOT met'}**.")
grow_c = med([r["at_checkpoint"]["peak_rss_mb"] - r["baseline_rss_mb"] for r in rs])
grow_e = med([r["at_end"]["peak_rss_mb"] - r["baseline_rss_mb"] for r in rs])
add(f"- Growth of the peak over the RSS at the request (medians): **{grow_c:.1f} MB at {rs[0]['at_checkpoint']['rows']:,} rows, "
    f"{grow_e:.1f} MB at {rs[0]['at_end']['rows']:,} rows**. The baseline is mostly what the allocator kept of the untimed "
    "preparation in the same process (parsing the file into COPY rows), not the export's.")
section = "\n".join(lines)
print(section)
if write:
    BEGIN, END = "<!-- bench:csv:begin -->", "<!-- bench:csv:end -->"
    text = open(doc).read()
    block = f"{BEGIN}\n{section}\n{END}"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    open(doc, "w").write(text)
    print(f"\n[bench-csv] figures written to {doc}", file=sys.stderr)
else:
    print(f"\n[bench-csv] BENCHMARKS.md left alone (rows {file_rows}, runs {runs}; BENCH_WRITE=1 to write)", file=sys.stderr)
print(f"[bench-csv] raw results: {run_dir}", file=sys.stderr)
PY
