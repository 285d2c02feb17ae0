#!/usr/bin/env bash
# The hot path side by side with an older commit, on this machine in one run (docs/performance.md,
# "Against a baseline commit"):
#
#   bench/baseline.sh BUILD_DIR COMMIT     (what `./dev bench --baseline COMMIT` runs)
#
# Builds COMMIT optimised in a git worktree in a temp dir (meson -Dbuildtype=release
# -Dwerror=false: an older commit may not build warning-free with this compiler at -O3), then
# runs, in BENCH_ROUNDS rounds (default 5) alternating baseline and BUILD_DIR (A B A B ...):
# the micro-benchmarks /model <alias> and the route of an ordinary message (engine_bench, 3
# repetitions each), and the 1,000,000-line replay in memory (`modelpin replay --json`). Each
# figure is the median of its rounds; the ratio is baseline / this tree on CPU time (the
# machine's other load moves wall times more than CPU times), wall times shown beside it.
# Absolute times differ between machines; only figures of one run are compared.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: bench/baseline.sh BUILD_DIR COMMIT" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
commit=$(git -C "$root" rev-parse --verify --quiet "$2^{commit}") ||
  { echo "bench: $2 is not a commit of this repository" >&2; exit 2; }
short=$(git -C "$root" rev-parse --short "$commit")
rounds=${BENCH_ROUNDS:-5}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/modelpin-baseline.XXXXXX")
cleanup() {
  git -C "$root" worktree remove --force "$tmp/src" >/dev/null 2>&1 || true
  git -C "$root" worktree prune >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

echo "bench: building $short (release) in $tmp/src..." >&2
git -C "$root" worktree add --detach "$tmp/src" "$commit" >/dev/null 2>&1 ||
  { echo "bench: git worktree add $short failed" >&2; exit 1; }
base="$tmp/src/build-release"
meson setup "$base" "$tmp/src" --wrap-mode=nodownload -Dbuildtype=release -Dwerror=false >"$tmp/setup.log" 2>&1 ||
  { cat "$tmp/setup.log" >&2; echo "bench: meson setup of $short failed" >&2; exit 1; }
ninja -C "$base" bench/engine_bench cli/modelpin >"$tmp/build.log" 2>&1 ||
  { tail -n 40 "$tmp/build.log" >&2; echo "bench: building $short failed" >&2; exit 1; }
echo "bench: building this tree ($build)..." >&2
ninja -C "$build" bench/engine_bench cli/modelpin >"$tmp/build.log" 2>&1 ||
  { tail -n 40 "$tmp/build.log" >&2; echo "bench: building $build failed" >&2; exit 1; }

echo "bench: generating a 1,000,000-line transcript..." >&2
python3 "$root/bench/gen_transcript.py" --lines 1000000 --seed 8 --out "$tmp/transcript.txt" 2>/dev/null

results="$build/bench/results"
mkdir -p "$results"
out="$results/baseline_$short.txt"
: >"$out"
# side NAME BUILD SRC: one round of one side, appended to $out as "side what wall_ns cpu_ns" lines.
side() {
  local name=$1 dir=$2 src=$3
  TMPDIR="$tmp" "$dir/bench/engine_bench" --benchmark_filter='^(BM_ModelAlias_Memory|BM_Route_Ordinary)$' \
    --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
    --benchmark_out="$tmp/micro.json" --benchmark_out_format=json >/dev/null 2>&1 ||
    { echo "bench: $dir/bench/engine_bench failed" >&2; return 1; }
  python3 - "$tmp/micro.json" "$name" >>"$out" <<'PY'
import json, sys
scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    if b.get("aggregate_name") == "median":
        f = scale[b["time_unit"]]
        print(sys.argv[2], b["run_name"], b["real_time"] * f, b["cpu_time"] * f)
PY
  local t0 t1
  t0=$(date +%s%N)
  MODELPIN_STATE_DIR="$src/fixtures/state" /usr/bin/time -f '%U %S' -o "$tmp/time" \
    "$dir/cli/modelpin" replay "$tmp/transcript.txt" --json >/dev/null ||
    { echo "bench: $dir/cli/modelpin replay failed" >&2; return 1; }
  t1=$(date +%s%N)
  read -r user sys <"$tmp/time"
  echo "$name replay_1m $((t1 - t0)) $(python3 -c "print(int(($user + $sys) * 1e9))")" >>"$out"
}
for r in $(seq "$rounds"); do
  echo "bench: round $r of $rounds ($short, then this tree)..." >&2
  side base "$base" "$tmp/src"
  side head "$build" "$root"
done

PYTHONPATH="$root/bench" python3 - "$out" "$short" "$rounds" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import statistics, sys

from bench_table import print_table

path, short, rounds, ncpu, load = sys.argv[1:]
fig = {}
for ln in open(path):
    side, what, wall, cpu = ln.split()
    fig.setdefault((side, what), []).append((float(wall), float(cpu)))
med = lambda xs: statistics.median(xs)
def fmt(ns):
    return f"{ns:.0f} ns" if ns < 1e3 else f"{ns / 1e3:.2f} us" if ns < 1e6 else f"{ns / 1e9:.2f} s"
rows = []
for what, label, target in (("BM_ModelAlias_Memory", "/model <alias> in memory", 1.3),
                            ("BM_Route_Ordinary", "route of an ordinary message", 1.3),
                            ("replay_1m", "replay 1,000,000 lines --json, memory", 1.2)):
    b, h = fig.get(("base", what)), fig.get(("head", what))
    if not b or not h:
        rows.append((label, "n/a", "n/a", "n/a", f">= {target:.2f}x", "NO"))
        continue
    bw, bc = med([x[0] for x in b]), med([x[1] for x in b])
    hw, hc = med([x[0] for x in h]), med([x[1] for x in h])
    ratio = bc / hc
    rows.append((label, f"{fmt(bc)} (wall {fmt(bw)})", f"{fmt(hc)} (wall {fmt(hw)})", f"{ratio:.2f}x",
                 f">= {target:.2f}x", "yes" if ratio >= target else "NO"))
head = ("what", short, "this tree", f"{short} / this tree", "target", "met?")
print_table(head, rows)
print(f"\nCPU time, medians of {rounds} interleaved rounds (wall time in brackets); {ncpu} CPUs, load average {load}.")
PY
echo "raw results: $out" >&2
