#!/usr/bin/env bash
# The live-notification benchmark of BENCHMARKS.md (`make bench` runs it after the load
# benchmark; alone: scripts/bench-sse.sh). 1,000 concurrent streams against the local
# runner's events routes, 1,000 events published on the SNS topic in moto; delivery latency
# from SNS Publish to receipt (p50, p99), dropped and duplicated events, memory per open stream.
#
#   BENCH_SSE_STREAMS=1000 BENCH_SSE_EVENTS=1000   the defaults
#   BENCH_SSE_RUNS=3                               runs (the median is reported; >= 3 to write BENCHMARKS.md)
#   BENCH_WRITE=0|1                                never / always rewrite the figures of BENCHMARKS.md
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sluice/target}"
STREAMS="${BENCH_SSE_STREAMS:-1000}"
EVENTS="${BENCH_SSE_EVENTS:-1000}"
RUNS="${BENCH_SSE_RUNS:-3}"
if [ -n "${BENCH_WRITE:-}" ]; then WRITE="$BENCH_WRITE"
elif [ "$STREAMS" = 1000 ] && [ "$EVENTS" = 1000 ] && [ "$RUNS" -ge 3 ]; then WRITE=1
else WRITE=0; fi
log() { printf '[bench-sse] %s\n' "$*" >&2; }

[ -f .local/services.env ] || { log "no .local/services.env: run \`make services\` first"; exit 1; }
log "building sse-bench (release)"
cargo build --release -q -p sluice-bench --bin sse-bench
BIN="$CARGO_TARGET_DIR/release/sse-bench"
set -a
# shellcheck disable=SC1091
. .local/services.env
set +a
# Two sockets per stream (client and server process) and then some.
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true

RUN_DIR="$ROOT/.local/bench/sse-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$RUN_DIR"
for i in $(seq 1 "$RUNS"); do
  log "run $i/$RUNS: $STREAMS streams, $EVENTS events"
  if ! "$BIN" run --streams "$STREAMS" --events "$EVENTS" > "$RUN_DIR/run-$i.out" 2> "$RUN_DIR/run-$i.log"; then
    log "run $i failed; see $RUN_DIR/run-$i.log"; tail -n 5 "$RUN_DIR/run-$i.log" >&2; exit 1
  fi
  grep '^{"bench":"sse"' "$RUN_DIR/run-$i.out" | tail -n 1 > "$RUN_DIR/run-$i.json"
done
{
  echo "nproc=$(nproc)"
  echo "cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
  echo "kernel=$(uname -sr)"
  echo "date=$(date -u +%Y-%m-%dT%H:%MZ)"
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
} > "$RUN_DIR/machine.txt"

python3 - "$RUN_DIR" "$RUNS" "$WRITE" "$ROOT/BENCHMARKS.md" <<'PY'
import json, os, statistics, sys
run_dir, runs, write, doc = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
rs = [json.load(open(os.path.join(run_dir, f"run-{i}.json"))) for i in range(1, runs + 1)]
machine = dict(l.rstrip("\n").split("=", 1) for l in open(os.path.join(run_dir, "machine.txt")) if "=" in l)
med = lambda k: statistics.median(r[k] for r in rs)
lines = []
add = lines.append
add("### Figures")
add("")
add(f"Measured {machine.get('date', '?')} at commit `{machine.get('commit', '?')}` with `make bench` (`scripts/bench-sse.sh`): "
    f"{rs[0]['streams']:,} concurrent streams, {rs[0]['events']:,} events, {runs} runs.")
add("")
add(f"- Machine: {machine.get('nproc', '?')} CPUs (`nproc`), {machine.get('cpu', '?')}, "
    f"{int(machine.get('mem_kb', 0)) / 1048576:.1f} GiB memory, {machine.get('kernel', '?')}; noisy, shared; "
    "PostgreSQL, moto, the server and the clients all on it.")
add("")
add("| run | p50 ms | p99 ms | max ms | delivered | dropped | duplicated | wrong stream | KB per open stream | server RSS MB (before → open) | publish s |")
add("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for i, r in enumerate(rs, 1):
    add(f"| {i} | {r['latency_ms_p50']:.0f} | {r['latency_ms_p99']:.0f} | {r['latency_ms_max']:.0f} | {r['delivered']:,} | {r['dropped']} | "
        f"{r['duplicated']} | {r['misdelivered']} | {r['kb_per_stream']:.1f} | {r['server_rss_kb_before']/1024:.1f} → {r['server_rss_kb_open']/1024:.1f} | {r['publish_seconds']:.1f} |")
add(f"| **median** | **{med('latency_ms_p50'):.0f}** | **{med('latency_ms_p99'):.0f}** | {med('latency_ms_max'):.0f} | {med('delivered'):,.0f} | "
    f"**{sum(r['dropped'] for r in rs)}** (all runs) | **{sum(r['duplicated'] for r in rs)}** (all runs) | {sum(r['misdelivered'] for r in rs)} | "
    f"**{med('kb_per_stream'):.1f}** | | {med('publish_seconds'):.1f} |")
add("")
ok = all(r["dropped"] == 0 and r["duplicated"] == 0 and r["misdelivered"] == 0 for r in rs)
add(f"- **Dropped or duplicated events: {'0 in every run' if ok else 'NOT 0 — see the table'}** (must be 0).")
section = "\n".join(lines)
print(section)
if write:
    BEGIN, END = "<!-- bench:sse:begin -->", "<!-- bench:sse:end -->"
    text = open(doc).read()
    block = f"{BEGIN}\n{section}\n{END}"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    open(doc, "w").write(text)
    print(f"\n[bench-sse] figures written to {doc}", file=sys.stderr)
else:
    print(f"\n[bench-sse] BENCHMARKS.md left alone (BENCH_WRITE=1 to write)", file=sys.stderr)
print(f"[bench-sse] raw results: {run_dir}", file=sys.stderr)
PY
