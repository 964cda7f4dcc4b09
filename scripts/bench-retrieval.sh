#!/usr/bin/env bash
# The retrieval benchmark of BENCHMARKS.md (issue 11; `make bench` runs it after the CSV
# export; alone: scripts/bench-retrieval.sh or `make bench-retrieval`). Each run indexes the
# Apple filings of the shared fixtures (read in place; questions about them are skipped when
# absent) and the team documents of tools/bench/retrieval/docs with the local model in a
# fresh database, asks the questions of tools/bench/retrieval/questions.json full-text
# only, vector only and hybrid (recall@5, MRR@10), times the 10-K's indexing (chunks/s),
# pads the store with synthetic chunks and times the search (p50/p99).
#
#   BENCH_RAG_CHUNKS=100000    chunks in the store for the latency figures
#   BENCH_RAG_PASSES=3         timed passes over the questions per mode
#   BENCH_RAG_RUNS=3           runs (the median is reported; >= 3 to write BENCHMARKS.md)
#   BENCH_WRITE=0|1            never / always rewrite the figures of BENCHMARKS.md
#   SLUICE_FIXTURES=DIR        the shared fixtures (default: ../shared/fixtures beside the checkout)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sluice/target}"
DEFAULT_CHUNKS=100000
CHUNKS="${BENCH_RAG_CHUNKS:-$DEFAULT_CHUNKS}"
PASSES="${BENCH_RAG_PASSES:-3}"
RUNS="${BENCH_RAG_RUNS:-3}"
FIXTURES="${SLUICE_FIXTURES:-$ROOT/../shared/fixtures}"
if [ -n "${BENCH_WRITE:-}" ]; then WRITE="$BENCH_WRITE"
elif [ "$CHUNKS" = "$DEFAULT_CHUNKS" ] && [ "$RUNS" -ge 3 ]; then WRITE=1
else WRITE=0; fi
log() { printf '[bench-retrieval] %s\n' "$*" >&2; }

[ -f .local/services.env ] || { log "no .local/services.env: run \`make services\` first"; exit 1; }
[ -d "$FIXTURES/sec/filings" ] || log "no $FIXTURES/sec/filings: only the team documents' questions are asked"
log "building sluice-bench (release)"
cargo build --release -q -p sluice-bench --bin sluice-bench
BIN="$CARGO_TARGET_DIR/release/sluice-bench"
set -a
# shellcheck disable=SC1091
. .local/services.env
set +a

RUN_DIR="$ROOT/.local/bench/retrieval-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$RUN_DIR"
for i in $(seq 1 "$RUNS"); do
  log "run $i/$RUNS: index, ask, pad to $CHUNKS chunks, time the search"
  if command -v psql >/dev/null; then psql "$DATABASE_URL" -XqAtc CHECKPOINT >/dev/null 2>&1 || true; fi
  if ! "$BIN" retrieval --fixtures "$FIXTURES" --set tools/bench/retrieval --chunks "$CHUNKS" --passes "$PASSES" \
      > "$RUN_DIR/run-$i.out" 2> "$RUN_DIR/run-$i.log"; then
    log "run $i failed; see $RUN_DIR/run-$i.log"; tail -n 5 "$RUN_DIR/run-$i.log" >&2; exit 1
  fi
  grep '^{"bench":"retrieval"' "$RUN_DIR/run-$i.out" | tail -n 1 > "$RUN_DIR/run-$i.json"
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
    echo "pgvector=$(psql "$DATABASE_URL" -XAtc "SELECT default_version FROM pg_available_extensions WHERE name = 'vector'" 2>/dev/null || echo unknown)"
  fi
} > "$RUN_DIR/machine.txt"

python3 - "$RUN_DIR" "$RUNS" "$WRITE" "$ROOT/BENCHMARKS.md" <<'PY'
import json, os, statistics, sys
run_dir, runs, write, doc = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
rs = [json.load(open(os.path.join(run_dir, f"run-{i}.json"))) for i in range(1, runs + 1)]
machine = dict(l.rstrip("\n").split("=", 1) for l in open(os.path.join(run_dir, "machine.txt")) if "=" in l)
med = statistics.median
RECALL_TARGET, P99_TARGET = 0.9, 50.0
ok = lambda good: "met" if good else "NOT met"
mode = lambda r, name: next(m for m in r["modes"] if m["mode"] == name)
lines = []
add = lines.append
add("### Figures")
add("")
r0 = rs[0]
add(f"Measured {machine.get('date', '?')} at commit `{machine.get('commit', '?')}` with `scripts/bench-retrieval.sh` "
    f"({runs} run{'s' if runs != 1 else ''}, {r0['store_chunks']:,} chunks in the store, {r0['latency_samples']} timed searches per mode and run).")
add("")
add(f"- Machine: {machine.get('nproc', '?')} CPUs (`nproc`), {machine.get('cpu', '?')}, "
    f"{int(machine.get('mem_kb', 0)) / 1048576:.1f} GiB memory, {machine.get('kernel', '?')}; noisy, shared; "
    f"PostgreSQL {machine.get('postgres', '?')} with pgvector {machine.get('pgvector', '?')}, the server and the client on it.")
add(f"- Model: `{r0['model']}` (local). Questions: {r0['questions']} ({r0['questions_filings']} on the Apple 10-K and 10-Q, "
    f"{r0['questions_team']} on the team documents), over {r0['corpus_chunks']} real chunks.")
add("")
add("| mode | recall@5 | MRR@10 | search p50 ms | search p99 ms |")
add("|---|---:|---:|---:|---:|")
for name in ("full_text", "vector", "hybrid"):
    ms = [mode(r, name) for r in rs]
    add(f"| {name.replace('_', ' ')} | {med([m['recall_at_5'] for m in ms]):.3f} | {med([m['mrr_at_10'] for m in ms]):.3f} | "
        f"{med([m['latency_p50_ms'] for m in ms]):.1f} | {med([m['latency_p99_ms'] for m in ms]):.1f} |")
add("")
h = [mode(r, "hybrid") for r in rs]
hr, hp = med([m["recall_at_5"] for m in h]), med([m["latency_p99_ms"] for m in h])
best_single = max(med([mode(r, n)["recall_at_5"] for r in rs]) for n in ("full_text", "vector"))
add(f"- **Hybrid recall@5: {hr:.3f}** — target ≥ {RECALL_TARGET} ({hr / RECALL_TARGET:.2f}x): **{ok(hr >= RECALL_TARGET)}**; "
    f"above both single methods (best {best_single:.3f}): **{ok(hr > best_single)}**.")
add(f"- **Hybrid search p99: {hp:.1f} ms** over {r0['store_chunks']:,} chunks — target ≤ {P99_TARGET:.0f} ms "
    f"({hp / P99_TARGET:.2f}x the limit): **{ok(hp <= P99_TARGET)}**.")
add(f"- **Indexing the Apple 10-K: {med([r['tenk_chunks_per_s'] for r in rs]):,.0f} chunks/s** (median; {r0['tenk_chunks']} chunks in "
    f"{med([r['tenk_index_s'] for r in rs]):.2f} s: sections, chunks, embeddings, one transaction).")
add(f"- Padding (not a target): {r0['synthetic_chunks']:,} synthetic chunks embedded in {med([r['synthetic_embed_s'] for r in rs]):.1f} s, "
    f"COPYed in {med([r['synthetic_copy_s'] for r in rs]):.1f} s, HNSW index rebuilt in {med([r['hnsw_build_s'] for r in rs]):.1f} s.")
misses = sorted({m for r in rs for m in r["hybrid_misses"]})
if misses:
    add(f"- Hybrid misses (not in the top 5 in some run): " + "; ".join(f"“{m}”" for m in misses) + ".")
section = "\n".join(lines)
print(section)
if write:
    BEGIN, END = "<!-- bench:retrieval:begin -->", "<!-- bench:retrieval:end -->"
    text = open(doc).read()
    block = f"{BEGIN}\n{section}\n{END}"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    open(doc, "w").write(text)
    print(f"\n[bench-retrieval] figures written to {doc}", file=sys.stderr)
else:
    print(f"\n[bench-retrieval] BENCHMARKS.md left alone (chunks {os.environ.get('BENCH_RAG_CHUNKS', 'default')}, runs {runs}; BENCH_WRITE=1 to write)", file=sys.stderr)
print(f"[bench-retrieval] raw results: {run_dir}", file=sys.stderr)
PY
