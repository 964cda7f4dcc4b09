#!/usr/bin/env bash
# Init time of every function (issue 16): each binary, built in release mode for this
# machine, started against a local Lambda Runtime API (`sluice-bench init`), from spawn to
# its first `GET .../invocation/next` — the whole of main before the first event. Target:
# at most 15 ms. `make bench` runs it after the others; alone: scripts/bench-init.sh.
#
#   BENCH_INIT_RUNS=10       starts of each binary (the median is reported; >= 5 to write)
#   BENCH_WRITE=0|1          never / always rewrite the figures of BENCHMARKS.md
#
# Not yet measurable here: started with AWS_LAMBDA_RUNTIME_API a function is "in AWS", so
# it requires DATABASE_TLS=verify-full and opens its pool during init; the local
# PostgreSQL of `make services` has no TLS, so every function exits before its first
# `next` (the run stops with the function's own error). Next step: a TLS-enabled local
# server (a throwaway CA with the loopback address as subject) and DATABASE_CA_FILE.
#
# The binaries are this machine's (x86_64), not the arm64 zips `make build` makes: the
# init work (config, SDK clients, pool, constructors) is the same code; Lambda's own start
# (the microVM, the zip's unpacking) is not in the figure.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sluice/target}"
RUNS="${BENCH_INIT_RUNS:-10}"
if [ -n "${BENCH_WRITE:-}" ]; then WRITE="$BENCH_WRITE"
elif [ "$RUNS" -ge 5 ]; then WRITE=1
else WRITE=0; fi
log() { printf '[bench-init] %s\n' "$*" >&2; }

[ -f .local/services.env ] || { log "no .local/services.env: run \`make services\` first"; exit 1; }
FUNCTIONS=()
for dir in functions/*/; do FUNCTIONS+=("$(basename "$dir")"); done
log "building sluice-bench and ${#FUNCTIONS[@]} functions (release)"
packages=(-p sluice-bench)
for f in "${FUNCTIONS[@]}"; do packages+=(-p "$f"); done
cargo build --release -q "${packages[@]}" --bins
BIN="$CARGO_TARGET_DIR/release/sluice-bench"
set -a
# shellcheck disable=SC1091
. .local/services.env
set +a

RUN_DIR="$ROOT/.local/bench/init-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$RUN_DIR"
load_at_start="$(cut -d' ' -f1-3 /proc/loadavg)"
for f in "${FUNCTIONS[@]}"; do
  log "$f: $RUNS starts"
  if ! "$BIN" init --bin "$CARGO_TARGET_DIR/release/$f" --runs "$RUNS" > "$RUN_DIR/$f.out" 2> "$RUN_DIR/$f.log"; then
    log "$f failed; see $RUN_DIR/$f.log"; tail -n 5 "$RUN_DIR/$f.log" >&2; exit 1
  fi
  grep '^{"bench":"init"' "$RUN_DIR/$f.out" | tail -n 1 > "$RUN_DIR/$f.json"
done
{
  echo "nproc=$(nproc)"
  echo "cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "load=$load_at_start"
  echo "date=$(date -u +%Y-%m-%dT%H:%MZ)"
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "rustc=$(rustc --version)"
} > "$RUN_DIR/machine.txt"

python3 - "$RUN_DIR" "$WRITE" "$ROOT/BENCHMARKS.md" "$RUNS" <<'PY'
import glob, json, os, sys
run_dir, write, doc, runs = sys.argv[1], sys.argv[2] == "1", sys.argv[3], sys.argv[4]
machine = dict(l.rstrip("\n").split("=", 1) for l in open(os.path.join(run_dir, "machine.txt")) if "=" in l)
reports = sorted((json.load(open(p)) for p in glob.glob(os.path.join(run_dir, "*.json"))), key=lambda r: r["function"])
TARGET = 15.0
lines = ["### Figures", ""]
lines.append(f"Measured {machine['date']} at commit `{machine['commit']}` with `scripts/bench-init.sh` "
             f"(`make bench` runs it; {runs} starts of each binary, median): {machine['nproc']} CPUs, "
             f"{machine['cpu']}, load average {machine['load']} at the start (the machine is shared); {machine['rustc']}.")
lines.append("")
lines.append("| function | binary (x86_64 release, MB) | init median ms | min – max ms | ÷ 15 ms target |")
lines.append("|---|---:|---:|---:|---:|")
for r in reports:
    ms = r["runs_ms"]
    lines.append(f"| {r['function']} | {r['binary_bytes'] / 1e6:.1f} | **{r['median_ms']:.1f}** | {min(ms):.1f} – {max(ms):.1f} | "
                 f"{r['median_ms'] / TARGET:.2f}x ({'met' if r['median_ms'] <= TARGET else 'NOT met'}) |")
worst = max(reports, key=lambda r: r["median_ms"])
lines.append("")
lines.append(f"Slowest: {worst['function']} at {worst['median_ms']:.1f} ms ({worst['median_ms'] / TARGET:.2f}x the target).")
section = "\n".join(lines)
print(section)
if write:
    BEGIN, END = "<!-- bench:init:begin -->", "<!-- bench:init:end -->"
    text = open(doc).read()
    block = f"{BEGIN}\n{section}\n{END}"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## Function init time\n\nTarget (issue 16): at most **15 ms** from process start to the first Runtime API `next` call, for every function (`sluice-bench init`: a local Runtime API on 127.0.0.1, the binary started with `AWS_LAMBDA_RUNTIME_API` pointing at it and the local services' settings).\n\n" + block + "\n"
    open(doc, "w").write(text)
    print(f"\n[bench-init] figures written to {doc}", file=sys.stderr)
print(f"[bench-init] raw results: {run_dir}", file=sys.stderr)
PY
