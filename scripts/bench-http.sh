#!/usr/bin/env bash
# The HTTP API under load (BENCHMARKS.md; `make bench` runs it after the others, BENCH_HTTP=0
# skips it; alone: scripts/bench-http.sh). The API, built as the local runner builds it, is
# served by the measuring process; 50 concurrent keep-alive connections (one user each) send
# a fixed number of requests to each route: GET /v1/me, a pool hit on POST /v1/analyses,
# a KPI query over a 100,000-row `kpis`. Requests/s, p50/p95/p99, errors per route.
#
#   BENCH_HTTP_CONNECTIONS=50 BENCH_HTTP_REQUESTS=5000 BENCH_HTTP_KPI_ROWS=100000   the defaults
#   BENCH_HTTP_RUNS=3          runs (the median is reported; >= 3 to write BENCHMARKS.md)
#   BENCH_WRITE=0|1            never / always rewrite the figures of BENCHMARKS.md
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sluice/target}"
CONNECTIONS="${BENCH_HTTP_CONNECTIONS:-50}"
REQUESTS="${BENCH_HTTP_REQUESTS:-5000}"
KPI_ROWS="${BENCH_HTTP_KPI_ROWS:-100000}"
RUNS="${BENCH_HTTP_RUNS:-3}"
if [ -n "${BENCH_WRITE:-}" ]; then WRITE="$BENCH_WRITE"
elif [ "$CONNECTIONS" = 50 ] && [ "$REQUESTS" = 5000 ] && [ "$KPI_ROWS" = 100000 ] && [ "$RUNS" -ge 3 ]; then WRITE=1
else WRITE=0; fi
log() { printf '[bench-http] %s\n' "$*" >&2; }

[ -f .local/services.env ] || { log "no .local/services.env: run \`make services\` first"; exit 1; }
log "building sluice-bench (release)"
cargo build --release -q -p sluice-bench --bin sluice-bench
BIN="$CARGO_TARGET_DIR/release/sluice-bench"
set -a
# shellcheck disable=SC1091
. .local/services.env
set +a
ulimit -n 8192 2>/dev/null || true

RUN_DIR="$ROOT/.local/bench/http-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$RUN_DIR"
CMD="sluice-bench http-load --connections $CONNECTIONS --requests $REQUESTS --kpi-rows $KPI_ROWS"
for i in $(seq 1 "$RUNS"); do
  log "run $i/$RUNS: $CMD"
  cut -d' ' -f1-3 /proc/loadavg > "$RUN_DIR/load-$i.txt"
  if ! "$BIN" http-load --connections "$CONNECTIONS" --requests "$REQUESTS" --kpi-rows "$KPI_ROWS" \
      > "$RUN_DIR/run-$i.out" 2> "$RUN_DIR/run-$i.log"; then
    log "run $i failed; see $RUN_DIR/run-$i.log"; tail -n 5 "$RUN_DIR/run-$i.log" >&2; exit 1
  fi
  grep '^{"bench":"http-load"' "$RUN_DIR/run-$i.out" | tail -n 1 > "$RUN_DIR/run-$i.json"
done
{
  echo "nproc=$(nproc)"
  echo "cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
  echo "kernel=$(uname -sr)"
  echo "date=$(date -u +%Y-%m-%dT%H:%MZ)"
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "command=$CMD"
} > "$RUN_DIR/machine.txt"

python3 - "$RUN_DIR" "$RUNS" "$WRITE" "$ROOT/BENCHMARKS.md" <<'PY'
import json, os, statistics, sys
run_dir, runs, write, doc = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
rs = [json.load(open(os.path.join(run_dir, f"run-{i}.json"))) for i in range(1, runs + 1)]
loads = [open(os.path.join(run_dir, f"load-{i}.txt")).read().strip() for i in range(1, runs + 1)]
machine = dict(l.rstrip("\n").split("=", 1) for l in open(os.path.join(run_dir, "machine.txt")) if "=" in l)
med = statistics.median
POOL_P99_TARGET = 20.0
lines = []
add = lines.append
add("### Figures")
add("")
add(f"Measured {machine.get('date', '?')} at commit `{machine.get('commit', '?')}` with `make bench` (`scripts/bench-http.sh`, "
    f"each run `{machine.get('command', '?')}`), {runs} runs.")
add("")
add(f"- Machine: {machine.get('nproc', '?')} CPUs (`nproc`), {machine.get('cpu', '?')}, "
    f"{int(machine.get('mem_kb', 0)) / 1048576:.1f} GiB memory, {machine.get('kernel', '?')}; noisy, shared by several builds "
    f"while measured (load average at the start of each run: {'; '.join(loads)}); PostgreSQL, moto, the server and the "
    "load generator all on it.")
add(f"- {rs[0]['connections']} concurrent keep-alive connections (one user each), {rs[0]['requests_per_route']:,} requests per route "
    f"after a warm-up; `kpis` holds {rs[0]['kpi_rows']:,} rows, the KPI query answers {rs[0]['kpi_answer_rows']} of them.")
add("")
add("| route | requests/s | p50 ms | p95 ms | p99 ms | max ms | errors (all runs) |")
add("|---|---:|---:|---:|---:|---:|---:|")
names = [r["route"] for r in rs[0]["routes"]]
for k, name in enumerate(names):
    per = [r["routes"][k] for r in rs]
    m = lambda f: med([p[f] for p in per])
    add(f"| `{name}` | **{m('requests_per_s'):,.0f}** | {m('p50_ms'):.1f} | {m('p95_ms'):.1f} | **{m('p99_ms'):.1f}** | {m('max_ms'):.0f} | "
        f"**{sum(p['errors'] for p in per)}** |")
add("")
add("Medians of the runs; every run:")
add("")
add("| run | route | requests/s | p50 ms | p95 ms | p99 ms | errors |")
add("|---|---|---:|---:|---:|---:|---:|")
for i, r in enumerate(rs, 1):
    for p in r["routes"]:
        add(f"| {i} | `{p['route']}` | {p['requests_per_s']:,.0f} | {p['p50_ms']:.1f} | {p['p95_ms']:.1f} | {p['p99_ms']:.1f} | {p['errors']} |")
add("")
pool = [i for i, n in enumerate(names) if "pool hit" in n][0]
p99 = med([r["routes"][pool]["p99_ms"] for r in rs])
add(f"- **Pool hit p99 ÷ target: {p99:.1f} ms ÷ {POOL_P99_TARGET:.0f} ms = {p99 / POOL_P99_TARGET:.2f}x** — "
    f"target p99 ≤ {POOL_P99_TARGET:.0f} ms: **{'met' if p99 <= POOL_P99_TARGET else 'NOT met'}**.")
errors = sum(p["errors"] for r in rs for p in r["routes"])
add(f"- **Errors: {errors}** (must be 0).")
section = "\n".join(lines)
print(section)
if write:
    BEGIN, END = "<!-- bench:http:begin -->", "<!-- bench:http:end -->"
    text = open(doc).read()
    block = f"{BEGIN}\n{section}\n{END}"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    open(doc, "w").write(text)
    print(f"\n[bench-http] figures written to {doc}", file=sys.stderr)
else:
    print(f"\n[bench-http] BENCHMARKS.md left alone (BENCH_WRITE=1 to write)", file=sys.stderr)
print(f"[bench-http] raw results: {run_dir}", file=sys.stderr)
PY
