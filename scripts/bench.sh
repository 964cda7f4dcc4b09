#!/usr/bin/env bash
# The benchmarks of BENCHMARKS.md (`make bench`): the full S3-to-PostgreSQL load of a
# 1,000,000-row messy KPI file against a plain COPY of the same clean rows into the same
# table, measured alternately on this machine, then a step-by-step breakdown of the load.
# Three cases for each table size of the series (empty, then already holding 2M and 5M
# rows): a first load, a plain COPY of the same rows (the limit), and a full-edit load
# (a file with the same keys and every value changed, after the first file was loaded).
#
#   BENCH_ROWS=50000 make bench    a quick trial (BENCHMARKS.md is left alone unless BENCH_WRITE=1)
#   BENCH_RUNS=5                   runs of each (default 3, at least 3 to write BENCHMARKS.md)
#   BENCH_SIZES="0 2000000"        rows already in the table (default "0 2000000 5000000")
#   BENCH_SEED=...                 generator seed (default 20240601)
#   BENCH_STAGES=0                 skip the breakdown
#   BENCH_WRITE=0|1                never / always rewrite the figures of BENCHMARKS.md
#
# Needs the local services (`make services`); everything it creates (a database and moto
# resources per run) is removed by the runs themselves. Files go to .local/bench/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sluice/target}"
ROWS="${BENCH_ROWS:-1000000}"
RUNS="${BENCH_RUNS:-3}"
SEED="${BENCH_SEED:-20240601}"
STAGES="${BENCH_STAGES:-1}"
SIZES="${BENCH_SIZES:-0 2000000 5000000}"
DEFAULT_ROWS=1000000
if [ -n "${BENCH_WRITE:-}" ]; then WRITE="$BENCH_WRITE"
elif [ "$ROWS" = "$DEFAULT_ROWS" ] && [ "$RUNS" -ge 3 ] && [ "${SIZES%% *}" = 0 ]; then WRITE=1
else WRITE=0; fi

log() { printf '[bench] %s\n' "$*" >&2; }

[ -f .local/services.env ] || { log "no .local/services.env: run \`make services\` first"; exit 1; }
command -v python3 >/dev/null || { log "python3 is needed for the figures"; exit 1; }

log "building sluice-bench (release)"
cargo build --release -q -p sluice-bench
BIN="$CARGO_TARGET_DIR/release/sluice-bench"

set -a
# shellcheck disable=SC1091
. .local/services.env
set +a

BENCH_DIR="$ROOT/.local/bench"
RUN_DIR="$BENCH_DIR/run-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$RUN_DIR"

# The files are generated once per (rows, seed) by their own process, never by a measuring one.
# The edited file: the same generator with the next seed writes the same keys (companies,
# months, indicators, tipos) with new values, so loading it after the first updates the rows.
generate() {
  local file=$1 seed=$2 gen="$1.gen.json"
  if [ -s "$file" ] && [ -s "$gen" ] && python3 -c 'import json,os,sys; sys.exit(0 if json.load(open(sys.argv[2]))["bytes"] == os.path.getsize(sys.argv[1]) else 1)' "$file" "$gen"; then
    log "reusing $file"
  else
    log "generating $ROWS rows into $file"
    "$BIN" gen-kpis --rows "$ROWS" --seed "$seed" --out "$file.tmp" | grep '^{"bench":' > "$gen.tmp"
    mv "$file.tmp" "$file"; mv "$gen.tmp" "$gen"
  fi
}
FILE="$BENCH_DIR/kpis-$ROWS-s$SEED.csv"
EDITED="$BENCH_DIR/kpis-$ROWS-s$((SEED + 1)).csv"
generate "$FILE" "$SEED"
generate "$EDITED" "$((SEED + 1))"
cp "$FILE.gen.json" "$RUN_DIR/gen.json"
cp "$EDITED.gen.json" "$RUN_DIR/gen-edited.json"

# Before each measurement: flush what the previous one left (dirty buffers, page cache),
# so it is not paid by the next.
settle() {
  if command -v psql >/dev/null; then psql "$DATABASE_URL" -XqAtc CHECKPOINT >/dev/null 2>&1 || true; fi
  sync
}

# One measurement: the JSON line goes to NAME.json, everything else to NAME.log.
measure() {
  local name=$1; shift
  settle
  if ! "$BIN" "$@" > "$RUN_DIR/$name.out" 2> "$RUN_DIR/$name.log"; then
    log "$name failed; see $RUN_DIR/$name.log"; tail -n 5 "$RUN_DIR/$name.log" >&2; exit 1
  fi
  grep '^{"bench":' "$RUN_DIR/$name.out" | tail -n 1 > "$RUN_DIR/$name.json"
  rm -f "$RUN_DIR/$name.out"
}

# The table sizes of the series: a template database per size, written once (untimed) and
# copied for every run, dropped at the end.
TEMPLATES=()
drop_templates() {
  for t in "${TEMPLATES[@]}"; do "$BIN" drop-preloaded --db "$t" >/dev/null 2>&1 || true; done
}
trap drop_templates EXIT
for size in $SIZES; do
  [ "$size" = 0 ] && continue
  t="sluice_bench_preload_$size"
  TEMPLATES+=("$t")
  log "preloading a template database with $size rows"
  settle
  "$BIN" preload --rows "$size" --db "$t" | grep '^{"bench":' > "$RUN_DIR/preload-$size.json"
done
echo "$SIZES" > "$RUN_DIR/sizes.txt"

# Interleaved so that the machine's noise hits all three alike.
for size in $SIZES; do
  template=()
  [ "$size" = 0 ] || template=(--template "sluice_bench_preload_$size")
  for i in $(seq 1 "$RUNS"); do
    log "table of $size rows, run $i/$RUNS: first load (etl)"
    measure "etl-$size-$i" etl --file "$FILE" "${template[@]}"
    log "table of $size rows, run $i/$RUNS: plain COPY (limit)"
    measure "copy-$size-$i" copy --file "$FILE" "${template[@]}"
    log "table of $size rows, run $i/$RUNS: full-edit load (etl, after the first file)"
    measure "edit-$size-$i" etl --file "$EDITED" --first "$FILE" "${template[@]}"
  done
done
if [ "$STAGES" = 1 ]; then
  log "breakdown of the load, step by step (stages)"
  measure stages stages --file "$FILE"
  log "breakdown of the full-edit load (stages --edit-all)"
  measure stages-edit stages --file "$FILE" --edit-all
fi

# Machine and server facts for the report.
{
  echo "nproc=$(nproc)"
  echo "cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
  echo "kernel=$(uname -sr)"
  echo "date=$(date -u +%Y-%m-%dT%H:%MZ)"
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
  if command -v psql >/dev/null; then
    echo "postgres=$(psql "$DATABASE_URL" -XAtc 'SHOW server_version' 2>/dev/null || echo unknown)"
    echo "pg_settings=$(psql "$DATABASE_URL" -XAtc "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name) FROM pg_settings WHERE name IN ('shared_buffers', 'work_mem', 'temp_buffers', 'fsync', 'synchronous_commit', 'full_page_writes', 'max_wal_size')" 2>/dev/null || echo unknown)"
  fi
} > "$RUN_DIR/machine.txt"

python3 - "$RUN_DIR" "$RUNS" "$WRITE" "$ROOT/BENCHMARKS.md" <<'PY'
import json, statistics, sys, os

run_dir, runs, write, doc = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
load = lambda name: json.load(open(os.path.join(run_dir, name + ".json")))
gen = load("gen")
sizes = [int(x) for x in open(os.path.join(run_dir, "sizes.txt")).read().split()]
series = {size: ([load(f"etl-{size}-{i}") for i in range(1, runs + 1)],
                 [load(f"copy-{size}-{i}") for i in range(1, runs + 1)],
                 [load(f"edit-{size}-{i}") for i in range(1, runs + 1)]) for size in sizes}
etl, copy, edit = series[sizes[0]]
stages = load("stages") if os.path.exists(os.path.join(run_dir, "stages.json")) else None
stages_edit = load("stages-edit") if os.path.exists(os.path.join(run_dir, "stages-edit.json")) else None
machine = dict(l.rstrip("\n").split("=", 1) for l in open(os.path.join(run_dir, "machine.txt")) if "=" in l)

med = lambda xs: statistics.median(xs)
etl_rate = med([r["rows_per_s"] for r in etl])
etl_only_rate = med([r["etl_rows_per_s"] for r in etl])
copy_rate = med([r["rows_per_s"] for r in copy])
ratio = etl_rate / copy_rate
ratio_etl_only = etl_only_rate / copy_rate
peak = max(r["peak_rss_mb"] for rs in series.values() for r in rs[0] + rs[2])
ingest_peak = max(r["ingest_peak_rss_mb"] for r in etl)
same_rows = all(r["inserted"] == c["rows"] == gen["expected_rows"] for rs in series.values() for r, c in zip(rs[0], rs[1]))
FIRST_TARGET, EDIT_TARGET, MEM_TARGET = 0.75, 0.5, 64.0
ok = lambda good: "met" if good else "NOT met"

def n(x, d=0):
    return f"{x:,.{d}f}"

lines = []
add = lines.append
add("### Figures")
add("")
add(f"Measured {machine.get('date', '?')} at commit `{machine.get('commit', '?')}` with `make bench`"
    + ("" if gen["rows"] == 1_000_000 else f" (`BENCH_ROWS={gen['rows']}`)") + ".")
add("")
add(f"- Machine: {machine.get('nproc', '?')} CPUs (`nproc`), {machine.get('cpu', '?')}, "
    f"{int(machine.get('mem_kb', 0)) / 1048576:.1f} GiB memory, {machine.get('kernel', '?')}; noisy, shared.")
add(f"- PostgreSQL {machine.get('postgres', '?')} (the local cluster of `make services`: "
    f"{machine.get('pg_settings', '?')}); moto for S3 and SQS, on the same machine.")
add(f"- File: {n(gen['rows'])} rows, {gen['bytes'] / 1e6:.1f} MB (seed {gen['seed']}): "
    f"{n(gen['bad_rows'])} bad rows, {n(gen['duplicate_rows'])} corrections (superseded rows), "
    f"{n(gen['blank_records'] + gen['empty_lines'])} blank lines; {n(gen['expected_rows'])} rows to load.")
add(f"- Rows loaded: the load inserted {n(etl[0]['inserted'])} rows (rejected {n(etl[0]['rejected'])}, "
    f"superseded {n(etl[0]['superseded'])}); the COPY wrote {n(copy[0]['rows'])}"
    + (" — the same rows in every run." if same_rows else " — **the counts differ; the comparison is not valid**."))
add("")
add("| run | load: total s | ingest s | transformer s | rows/s | transformer rows/s | peak RSS MB | COPY s | COPY rows/s |")
add("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for i, (e, c) in enumerate(zip(etl, copy), 1):
    add(f"| {i} | {e['total_s']:.2f} | {e['ingest_s']:.2f} | {e['etl_s']:.2f} | {n(e['rows_per_s'])} | "
        f"{n(e['etl_rows_per_s'])} | {e['peak_rss_mb']:.1f} | {c['seconds']:.2f} | {n(c['rows_per_s'])} |")
add(f"| **median** | **{med([e['total_s'] for e in etl]):.2f}** | {med([e['ingest_s'] for e in etl]):.2f} | "
    f"{med([e['etl_s'] for e in etl]):.2f} | **{n(etl_rate)}** | {n(etl_only_rate)} | **{peak:.1f}** (max) | "
    f"**{med([c['seconds'] for c in copy]):.2f}** | **{n(copy_rate)}** |")
add("")
add(f"- **Ratio, first load ÷ plain COPY (median rows/s): {ratio:.2f}x** — target ≥ {FIRST_TARGET}x: **{ok(ratio >= FIRST_TARGET)}**."
    f" Transformer alone ÷ COPY: {ratio_etl_only:.2f}x.")
add(f"- **Peak memory of the transformer: {peak:.1f} MB** (max VmHWM of every load, first and full-edit, over all runs and table sizes; ingest: {ingest_peak:.1f} MB)"
    f" — target < {MEM_TARGET:.0f} MB: **{ok(peak < MEM_TARGET)}**.")
add("")
add("Full-edit load and table size (`etl --file EDITED --first FILE [--template DB]`): the table already holds "
    "the rows of the size column (companies no file uses), the first load inserts the file, the full-edit load "
    f"then loads a file with the same keys and new values (seed {json.load(open(os.path.join(run_dir, 'gen-edited.json')))['seed']}), "
    "after a `VACUUM ANALYZE` as autovacuum would run between two uploads. Its rows/s are written rows "
    "(inserted + updated) ÷ its total time. The COPY is the same COPY of the first file's rows into a copy "
    "of the same preloaded table (for the full edit that table is 1M rows smaller than the one the edit "
    "writes into, which favours the COPY). Medians of the runs:")
add("")
add("| rows already in the table | first load s | rows/s | COPY s | COPY rows/s | **first ÷ COPY** | full edit s | updated | rows/s | **full edit ÷ COPY** | peak RSS MB |")
add("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for size in sizes:
    e, c, d = series[size]
    er, cr, dr = med([r["rows_per_s"] for r in e]), med([r["rows_per_s"] for r in c]), med([r["rows_per_s"] for r in d])
    add(f"| {n(size)} | {med([r['total_s'] for r in e]):.2f} | {n(er)} | {med([r['seconds'] for r in c]):.2f} | {n(cr)} | "
        f"**{er / cr:.2f}x** ({ok(er / cr >= FIRST_TARGET)}) | {med([r['total_s'] for r in d]):.2f} | {n(med([r['updated'] for r in d]))} | {n(dr)} | "
        f"**{dr / cr:.2f}x** ({ok(dr / cr >= EDIT_TARGET)}) | {max(r['peak_rss_mb'] for r in e + d):.1f} |")
add("")
add(f"Targets: first load ≥ {FIRST_TARGET}x COPY, full edit ≥ {EDIT_TARGET}x COPY, at every size; peak < {MEM_TARGET:.0f} MB.")
if stages:
    st = stages
    add("")
    add("Where the time goes (`sluice-bench stages`, one run; the load's steps one at a time, into an empty table):")
    add("")
    add("| step | seconds | rows |")
    add("|---|---:|---:|")
    add(f"| read + SHA-256 of the file | {st['hash_s']:.2f} | |")
    add(f"| parse: CSV, normalise, COPY text (one thread; overlaps the staging COPY in the load) | {st['parse_s']:.2f} | {n(st['staged_rows'])} |")
    for step in st["steps"]:
        label = step["name"] + (f" ({st['stage_mb']:.0f} MB staged)" if step["name"] == "copy_stage" else "")
        rows = "" if step.get("rows") is None else n(step["rows"])
        add(f"| {label} | {step['seconds']:.2f} | {rows} |")
    add(f"| all SQL | {st['sql_total_s']:.2f} | |")
if stages_edit:
    st = stages_edit
    add("")
    add("The full-edit load step by step (`sluice-bench stages --edit-all`, one run: the same rows loaded first, untimed, "
        "then every value changed in the staging table):")
    add("")
    add("| step | seconds | rows |")
    add("|---|---:|---:|")
    for step in st["steps"]:
        rows = "" if step.get("rows") is None else n(step["rows"])
        add(f"| {step['name']} | {step['seconds']:.2f} | {rows} |")
    add(f"| all SQL | {st['sql_total_s']:.2f} | |")
section = "\n".join(lines)
print(section)

if write:
    BEGIN, END = "<!-- bench:kpis:begin -->", "<!-- bench:kpis:end -->"
    text = open(doc).read() if os.path.exists(doc) else "# Benchmarks\n"
    block = f"{BEGIN}\n{section}\n{END}"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    open(doc, "w").write(text)
    print(f"\n[bench] figures written to {doc}", file=sys.stderr)
else:
    print(f"\n[bench] BENCHMARKS.md left alone (rows {gen['rows']}, runs {runs}; BENCH_WRITE=1 to write)", file=sys.stderr)
print(f"[bench] raw results: {run_dir}", file=sys.stderr)
PY

# The CSV export of about 1,000,000 KPI rows through the HTTP API (issue 12); BENCH_CSV=0 skips it.
if [ "${BENCH_CSV:-1}" = 1 ]; then "$ROOT/scripts/bench-csv.sh"; fi

# Live notifications (issue 5): 1,000 streams, 1,000 events; BENCH_SSE=0 skips it.
if [ "${BENCH_SSE:-1}" = 1 ]; then "$ROOT/scripts/bench-sse.sh"; fi

# Init time of every function (issue 16): off until the local PostgreSQL speaks TLS. Started
# as Lambda starts them, the functions insist on DATABASE_TLS=verify-full and connect
# during init, so against today's plain local server they refuse to start
# (scripts/bench-init.sh says so). BENCH_INIT=1 runs it.
if [ "${BENCH_INIT:-0}" = 1 ]; then "$ROOT/scripts/bench-init.sh"; fi

# Ask Sluice's retrieval (issue 11): recall@5/MRR, indexing chunks/s, search p50/p99 over
# 100,000 chunks; BENCH_RETRIEVAL=0 skips it.
if [ "${BENCH_RETRIEVAL:-1}" = 1 ]; then "$ROOT/scripts/bench-retrieval.sh"; fi

# The HTTP API under load (issue 16): GET /v1/me, a pool hit, a KPI query; BENCH_HTTP=0 skips it.
if [ "${BENCH_HTTP:-1}" = 1 ]; then "$ROOT/scripts/bench-http.sh"; fi
