#!/usr/bin/env bash
# Builds the benchmarks in BUILD_DIR, runs them all and prints one table of issue 8's targets:
#
#   bench/run.sh build-release        (what `./dev bench` runs, after configuring -Dbuildtype=release)
#
# Micro-benchmark figures are medians of BENCH_REPETITIONS (default 10) Google Benchmark
# repetitions; the transcript replay is the median of BENCH_REPLAY_RUNS (default 3) runs; the demo
# replay the median of 20 runs. Generated transcripts live in a temp dir that is removed on exit;
# raw results are kept in BUILD_DIR/bench/results/.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: bench/run.sh BUILD_DIR" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
reps=${BENCH_REPETITIONS:-10}
replay_runs=${BENCH_REPLAY_RUNS:-3}

# Only what the table needs, so an unrelated target cannot stop the benchmarks.
ninja -C "$build" bench/engine_bench bench/memory_probe cli/modelpin >/dev/null ||
  ninja -C "$build" bench/engine_bench bench/memory_probe cli/modelpin

buildtype=$(meson introspect --buildoptions "$build" |
  python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="buildtype"))')
[ "$buildtype" = release ] || echo "bench: warning: $build is buildtype=$buildtype, not release" >&2

results="$build/bench/results"
mkdir -p "$results"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/modelpin-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export MODELPIN_STATE_DIR="$root/fixtures/state"
modelpin="$build/cli/modelpin"

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
now_ns() { date +%s%N; }

echo "bench: micro-benchmarks ($reps repetitions)..." >&2
TMPDIR="$tmp" "$build/bench/engine_bench" --benchmark_repetitions="$reps" \
  --benchmark_report_aggregates_only=true \
  --benchmark_out="$results/engine_bench.json" --benchmark_out_format=json >"$results/engine_bench.txt" 2>&1

echo "bench: generating a 1,000,000-line transcript..." >&2
python3 "$root/bench/gen_transcript.py" --lines 1000000 --seed 8 --out "$tmp/transcript.txt" 2>/dev/null
echo "bench: replaying it ($replay_runs runs)..." >&2
replay_status=0
: >"$results/replay_1m.txt"
for _ in $(seq "$replay_runs"); do
  t0=$(now_ns)
  /usr/bin/time -f '%M' -o "$tmp/time" "$modelpin" replay "$tmp/transcript.txt" --json >/dev/null || replay_status=$?
  t1=$(now_ns)
  echo "$(( (t1 - t0) / 1000 )) $(tail -n1 "$tmp/time")" >>"$results/replay_1m.txt"  # us, max RSS KiB
done
replay_us=$(cut -d' ' -f1 "$results/replay_1m.txt" | median)
replay_rss=$(cut -d' ' -f2 "$results/replay_1m.txt" | median)

echo "bench: demo replay (20 runs)..." >&2
demo="$root/fixtures/transcripts/demo.txt"
demo_status=0
: >"$results/replay_demo.txt"
for _ in $(seq 20); do
  t0=$(now_ns)
  "$modelpin" replay "$demo" >/dev/null || demo_status=$?
  t1=$(now_ns)
  echo $(( (t1 - t0) / 1000 )) >>"$results/replay_demo.txt"
done
demo_us=$(median <"$results/replay_demo.txt")

echo "bench: memory probe (1,000,000 pinned sessions)..." >&2
probe=$("$build/bench/memory_probe" 1000000) || probe="failed"
echo "$probe" >"$results/memory_probe.txt"

python3 - "$results/engine_bench.json" "$replay_us" "$replay_rss" "$replay_status" \
  "$demo_us" "$demo_status" "$probe" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import json, sys

bench_file, replay_us, replay_rss, replay_status, demo_us, demo_status, probe, ncpu, load = sys.argv[1:]
replay_us, replay_rss, demo_us = (int(float(x)) for x in (replay_us, replay_rss, demo_us))
runs = json.load(open(bench_file))["benchmarks"]
scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}

def agg(name, kind="median"):
    for b in runs:
        if b.get("run_name") == name and b.get("aggregate_name") == kind:
            return b
    return None

def ns(name, field="real_time"):
    b = agg(name)
    return None if b is None else b[field] * scale[b["time_unit"]]

def fmt_ns(v):
    if v is None:
        return "n/a"
    return f"{v:.0f} ns" if v < 1e3 else f"{v / 1e3:.2f} us" if v < 1e6 else f"{v / 1e6:.2f} ms"

rows = []
def row(what, figure, target, met):
    rows.append((what, figure, target, "n/a" if met is None else ("yes" if met else "NO")))

def latency(what, name, limit_ns, target):
    v, cpu = ns(name), ns(name, "cpu_time")
    row(what, f"{fmt_ns(v)} (cpu {fmt_ns(cpu)})", target, None if v is None else v <= limit_ns)

latency("/model <alias> in memory (sonnet/opus alternating)", "BM_ModelAlias_Memory", 1e3, "median <= 1 us")
latency("/model status (3 providers, 15 catalog models)", "BM_ModelStatus_Memory", 10e3, "median <= 10 us")
latency("route of an ordinary message", "BM_Route_Ordinary", 300, "median <= 300 ns")
b = agg("BM_MayHoldDirective_64KiB")
bps = None if b is None else b.get("bytes_per_second")
row("MayHoldDirective, 64 KiB messages of URLs/slashes",
    "n/a" if bps is None else f"{bps / 1e9:.2f} GB/s", ">= 1 GB/s", None if bps is None else bps >= 1e9)
ok = replay_status == "0"
row("replay 1,000,000 lines --json (90% ordinary)",
    f"{replay_us / 1e6:.2f} s (max RSS {replay_rss / 1024:.0f} MiB)" + ("" if ok else f", exit {replay_status}"),
    "<= 2 s", ok and replay_us <= 2e6)
latency("persisted pin, SQLite WAL (sonnet/opus alternating)", "BM_PersistedPin_Sqlite", 100e3, "median <= 100 us")
fields = dict(kv.split("=", 1) for kv in probe.split()) if "rss_kb=" in probe else {}
if fields:
    rss_mb = int(fields["rss_kb"]) * 1024 / 1e6
    row("RSS with 1,000,000 pinned sessions (memory store)",
        f"{rss_mb:.0f} MB (engine alone {int(fields['baseline_rss_kb']) * 1024 / 1e6:.0f} MB, "
        f"{(int(fields['rss_kb']) - int(fields['baseline_rss_kb'])) * 1024 / int(fields['sessions']):.0f} B/session)",
        "<= 256 MB", rss_mb <= 256)
else:
    row("RSS with 1,000,000 pinned sessions (memory store)", "probe failed", "<= 256 MB", False)
ok = demo_status == "0"
row("replay demo.txt (18 lines), whole process",
    f"{demo_us / 1e3:.1f} ms" + ("" if ok else f", exit {demo_status}"), "median of 20 <= 20 ms",
    ok and demo_us <= 20e3)
b = agg("BM_FindModelDirective")
row("(info) FindModelDirective(\"/model sonnet\") alone", fmt_ns(ns("BM_FindModelDirective")), "-", None)

head = ("what", "figure", "target", "met?")
w = [max(len(r[i]) for r in rows + [head]) for i in range(4)]
line = lambda r: "| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(r)) + " |"
print(line(head))
print("|" + "|".join("-" * (x + 2) for x in w) + "|")
for r in rows:
    print(line(r))
print(f"\n{ncpu} CPUs, load average {load}; micro-benchmarks: median of repetitions, wall time (cpu time in brackets).")
PY
echo "raw results: $results" >&2
