#!/usr/bin/env bash
# Builds the benchmarks in BUILD_DIR, runs them all and prints one table of the performance targets (docs/performance.md):
#
#   bench/run.sh build-release        (what `./dev bench` runs, after configuring -Dbuildtype=release)
#   bench/run.sh build-release --baseline COMMIT   the hot path beside COMMIT (bench/baseline.sh)
#
# Micro-benchmark figures are medians of BENCH_REPETITIONS (default 10) Google Benchmark
# repetitions; the transcript replay is the median of BENCH_REPLAY_RUNS (default 3) runs; the demo
# replay the median of 20 runs. Generated transcripts live in a temp dir that is removed on exit;
# raw results are kept in BUILD_DIR/bench/results/.
set -euo pipefail

if [ $# -eq 3 ] && [ "$2" = --baseline ]; then
  exec "$(dirname "$0")/baseline.sh" "$1" "$3"
fi
if [ $# -ne 1 ]; then
  echo "usage: bench/run.sh BUILD_DIR [--baseline COMMIT]" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
reps=${BENCH_REPETITIONS:-10}
replay_runs=${BENCH_REPLAY_RUNS:-3}

# Only what the table needs, so an unrelated target cannot stop the benchmarks.
ninja -C "$build" bench/engine_bench bench/memory_probe bench/store_latency bench/soak cli/modelpin node/modelpin.node >/dev/null ||
  ninja -C "$build" bench/engine_bench bench/memory_probe bench/store_latency bench/soak cli/modelpin node/modelpin.node

buildtype=$(meson introspect --buildoptions "$build" |
  python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="buildtype"))')
[ "$buildtype" = release ] || echo "bench: warning: $build is buildtype=$buildtype, not release" >&2

results="$build/bench/results"
mkdir -p "$results"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/modelpin-bench.XXXXXX")
redis_pid=
sentinel_pids=()
stop_redis() {
  for p in $redis_pid "${sentinel_pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null || true; done
}
trap 'stop_redis; rm -rf "$tmp"' EXIT
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

# The same transcript and pins on each session store, side by side: memory, SQLite, and a
# redis-server started here on a unix socket (no persistence, as a cache-only deployment).
command -v redis-server >/dev/null || { echo "bench: redis-server is not installed" >&2; exit 1; }
mkdir -p "$tmp/redis"
redis-server --port 0 --unixsocket "$tmp/redis/r.sock" --save "" --appendonly no --dir "$tmp/redis" \
  >"$tmp/redis/log" 2>&1 &
redis_pid=$!
for _ in $(seq 100); do [ -S "$tmp/redis/r.sock" ] && break; sleep 0.05; done
[ -S "$tmp/redis/r.sock" ] || { echo "bench: redis-server did not start" >&2; cat "$tmp/redis/log" >&2; exit 1; }
export MODELPIN_BENCH_REDIS="unix://$tmp/redis/r.sock"

# Sentinel: a primary, one replica and one sentinel (quorum 1) on loopback ports, for the pin
# through Sentinel with storeWaitReplicas 0 and 1 (docs/redis.md).
command -v redis-sentinel >/dev/null || { echo "bench: redis-sentinel is not installed" >&2; exit 1; }
read -r sp_primary sp_replica sp_sentinel < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(3)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
mkdir -p "$tmp/sp" "$tmp/sr" "$tmp/ss"
redis-server --port "$sp_primary" --bind 127.0.0.1 --save "" --appendonly no --dir "$tmp/sp" >"$tmp/sp/log" 2>&1 &
sentinel_pids+=($!)
redis-server --port "$sp_replica" --bind 127.0.0.1 --save "" --appendonly no --dir "$tmp/sr" \
  --replicaof 127.0.0.1 "$sp_primary" >"$tmp/sr/log" 2>&1 &
sentinel_pids+=($!)
printf 'port %s\nbind 127.0.0.1\ndir %s\nsentinel monitor mymaster 127.0.0.1 %s 1\n' \
  "$sp_sentinel" "$tmp/ss" "$sp_primary" >"$tmp/ss/sentinel.conf"
redis-sentinel "$tmp/ss/sentinel.conf" >"$tmp/ss/log" 2>&1 &
sentinel_pids+=($!)
for _ in $(seq 100); do
  redis-cli -p "$sp_primary" info replication 2>/dev/null | grep -q '^connected_slaves:1' &&
    redis-cli -p "$sp_sentinel" sentinel get-master-addr-by-name mymaster 2>/dev/null | grep -q . && break
  sleep 0.1
done
export MODELPIN_BENCH_SENTINEL="redis-sentinel://127.0.0.1:$sp_sentinel/mymaster?db=0"

# Three rounds of the three stores, interleaved, and each figure the median of its three: on a
# 2-core VM one run in a few lands on a slow CPU for its whole length (its ordinary messages
# then cost twice as much); the median drops that run without hiding a store's own cost.
echo "bench: pins and ordinary messages per store (3 rounds)..." >&2
: >"$results/store_latency.txt"
for _ in 1 2 3; do
  for store in memory sqlite redis sentinel sentinel-wait1; do
    TMPDIR="$tmp" "$build/bench/store_latency" "$store" >>"$results/store_latency.txt"
  done
done

# A state dir per persisted store: the fixture's config and auth store, sessions fresh each run.
persisted_replay() {  # STORE(sqlite|redis) TRANSCRIPT [ARGS...] -> microseconds
  local store=$1 transcript=$2; shift 2
  rm -rf "$tmp/st"; cp -r "$root/fixtures/state" "$tmp/st"
  if [ "$store" = redis ]; then
    python3 - "$tmp/st/modelpin.json" "$MODELPIN_BENCH_REDIS" "run$RANDOM:" <<'PY'
import json, sys
p, url, prefix = sys.argv[1:]
c = json.load(open(p)); c["modelpin"] = {"store": url, "storePrefix": prefix}; json.dump(c, open(p, "w"))
PY
  fi
  local t0 t1; t0=$(now_ns)
  "$modelpin" replay "$transcript" --state "$tmp/st" "$@" >/dev/null
  t1=$(now_ns)
  echo $(( (t1 - t0) / 1000 ))
}
: >"$results/replay_1m_stores.txt"
for store in sqlite redis; do
  echo "bench: 1,000,000-line replay on $store ($replay_runs runs)..." >&2
  for _ in $(seq "$replay_runs"); do
    echo "$store $(persisted_replay "$store" "$tmp/transcript.txt" --json)" >>"$results/replay_1m_stores.txt"
  done
done
replay_sqlite_us=$(awk '$1 == "sqlite" { print $2 }' "$results/replay_1m_stores.txt" | median)
replay_redis_us=$(awk '$1 == "redis" { print $2 }' "$results/replay_1m_stores.txt" | median)

echo "bench: 20,000 two-message sessions, --session-view current..." >&2
python3 - "$tmp/sessions20k.txt" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(20000):
        f.write(f"//@ session agent:main:s{i}\n/model sonnet\nhello there, what's new?\n")
PY
: >"$results/replay_20k_sessions.txt"
for _ in $(seq "$replay_runs"); do
  t0=$(now_ns)
  "$modelpin" replay "$tmp/sessions20k.txt" --json --session-view current >/dev/null
  t1=$(now_ns)
  echo $(( (t1 - t0) / 1000 )) >>"$results/replay_20k_sessions.txt"
done
sessions20k_us=$(median <"$results/replay_20k_sessions.txt")

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

# Memory follows the live sessions, not the traffic (docs/performance.md, "Memory over time").
echo "bench: soak (10,000,000 messages over 1,000 sessions)..." >&2
soak=$("$build/bench/soak" 10000000 1000 2>"$results/soak_progress.txt") || soak="failed"
echo "$soak" >"$results/soak.txt"

PYTHONPATH="$root/bench" python3 - "$results/engine_bench.json" "$replay_us" "$replay_rss" "$replay_status" \
  "$demo_us" "$demo_status" "$probe" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" \
  "$results/store_latency.txt" "$replay_sqlite_us" "$replay_redis_us" "$sessions20k_us" "$soak" <<'PY'
import json, sys

from bench_table import print_table

(bench_file, replay_us, replay_rss, replay_status, demo_us, demo_status, probe, ncpu, load,
 latency_file, replay_sqlite_us, replay_redis_us, sessions20k_us, soak) = sys.argv[1:]
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
latency("route of an ordinary message, 3 budgets configured", "BM_Route_Ordinary_Budgets", 300, "median <= 300 ns")
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
soak_fields = dict(kv.split("=", 1) for kv in soak.split()[1:]) if "rss_end_kb=" in soak else {}
if soak_fields:
    first, end = int(soak_fields["rss_first_kb"]), int(soak_fields["rss_end_kb"])
    row("soak: 10,000,000 messages over 1,000 sessions (memory store)",
        f"RSS {first * 1024 / 1e6:.1f} MB after 1,000,000, {end * 1024 / 1e6:.1f} MB at the end "
        f"({soak_fields['growth_pct']}%)", "< 10% apart, both < 64 MB",
        abs(end - first) < 0.1 * first and max(first, end) * 1024 < 64e6)
else:
    row("soak: 10,000,000 messages over 1,000 sessions (memory store)", "soak failed",
        "< 10% apart, both < 64 MB", False)
ok = demo_status == "0"
row("replay demo.txt (18 lines), whole process",
    f"{demo_us / 1e3:.1f} ms" + ("" if ok else f", exit {demo_status}"), "median of 20 <= 20 ms",
    ok and demo_us <= 20e3)
b = agg("BM_FindModelDirective")
row("(info) FindModelDirective(\"/model sonnet\") alone", fmt_ns(ns("BM_FindModelDirective")), "-", None)
hand, rapid = ns("BM_JsonString/0"), ns("BM_JsonString/1")
row("(info) JSON strings of a replay line: base/json_text.h vs RapidJSON Writer",
    "n/a" if hand is None or rapid is None else f"{fmt_ns(hand)} vs {fmt_ns(rapid)} ({rapid / hand:.1f}x)",
    "-", None)

head = ("what", "figure", "target", "met?")
print_table(head, rows)
print(f"\n{ncpu} CPUs, load average {load}; micro-benchmarks: median of repetitions, wall time (cpu time in brackets).")

# The stores side by side.
runs_by_store = {}
for ln in open(latency_file):
    kv = dict(x.split("=", 1) for x in ln.split())
    runs_by_store.setdefault(kv["store"], []).append(kv)
stores = {}
for name, runs in runs_by_store.items():  # each figure: the median of the store's runs
    stores[name] = {k: (runs[0][k] if k in ("store", "pins") else
                        str(sorted(float(r[k]) for r in runs)[len(runs) // 2])) for k in runs[0]}
mem_ord = float(stores["memory"]["ordinary_ns"])
rows = []
for name, label, p50_max in (("memory", "memory", None), ("sqlite", "SQLite (WAL)", 20), ("redis", "Redis (unix socket)", 60)):
    kv = stores[name]
    p50, p99, ordn = float(kv["p50_us"]), float(kv["p99_us"]), float(kv["ordinary_ns"])
    pin_target = "-" if p50_max is None else f"p50 <= {p50_max} us, p99 <= 500 us"
    pin_met = None if p50_max is None else (p50 <= p50_max and p99 <= 500)
    floor = float(kv.get("floor_p50_us", 0))
    floor_text = "" if name == "memory" else f" (floor {floor:.1f} us)"
    rows.append((f"pin on {label} (sonnet/opus alternating, {kv['pins']})",
                 f"{float(kv['pins_per_s']):,.0f} pins/s, p50 {p50:.1f} us{floor_text}, p99 {p99:.1f} us", pin_target,
                 "n/a" if pin_met is None else ("yes" if pin_met else "NO")))
    ord_target = "-" if name == "memory" else "<= 1.1x memory"
    ord_met = "n/a" if name == "memory" else ("yes" if ordn <= 1.1 * mem_ord else "NO")
    rows.append((f"ordinary message, unchanged session, {label}", f"{ordn:.0f} ns ({ordn / mem_ord:.2f}x memory)",
                 ord_target, ord_met))
# Through Sentinel (TCP on loopback), with storeWaitReplicas 0 and 1, beside plain Redis above.
for name, label in (("sentinel", "Redis via Sentinel, storeWaitReplicas 0 (TCP)"),
                    ("sentinel-wait1", "Redis via Sentinel, storeWaitReplicas 1 (TCP)")):
    kv = stores[name]
    p50, p99 = float(kv["p50_us"]), float(kv["p99_us"])
    floor = float(kv["floor_p50_us"]) if name == "sentinel" else float(kv["floor_wait_p50_us"])
    what = "PING" if name == "sentinel" else "SET + WAIT 1"
    rows.append((f"pin on {label}", f"p50 {p50:.1f} us (floor {what} {floor:.1f} us), p99 {p99:.1f} us",
                 "-", "n/a"))
r_mem, r_sql, r_red = replay_us, int(replay_sqlite_us), int(replay_redis_us)
rows.append(("replay 1,000,000 lines --json, memory", f"{r_mem / 1e6:.2f} s", "<= 2 s", "yes" if r_mem <= 2e6 else "NO"))
rows.append(("replay 1,000,000 lines --json, SQLite", f"{r_sql / 1e6:.2f} s ({r_sql / r_mem:.2f}x memory)",
             "<= 1.6x memory", "yes" if r_sql <= 1.6 * r_mem else "NO"))
rows.append(("replay 1,000,000 lines --json, Redis", f"{r_red / 1e6:.2f} s ({r_red / r_mem:.2f}x memory)",
             "<= 2.5x memory", "yes" if r_red <= 2.5 * r_mem else "NO"))
s20 = int(sessions20k_us)
rows.append(("replay 20,000 two-message sessions, --session-view current", f"{s20 / 1e6:.2f} s", "<= 2 s",
             "yes" if s20 <= 2e6 else "NO"))
print()
print_table(head, rows)
print("\nfloor: the same operation without modelpin on this machine, p50 (bench/store_latency.cc): a bare PING"
      " round trip on Redis, a bare one-row committed UPDATE on SQLite (WAL, synchronous=NORMAL).")
PY
# `modelpin serve` under wrk (floor, memory, Redis side by side), on this run's redis-server.
echo
BENCH_SERVICE_RESULTS="$results/service.txt" "$root/bench/service_bench.sh" "$build" "$MODELPIN_BENCH_REDIS"
# The Node.js package: what handleSync and await handle add to the C++ call (bench/node_bench.js).
echo "bench: node handle overhead ($reps repetitions)..." >&2
node "$root/bench/node_bench.js" "$build" --repetitions "$reps" --json >"$results/node_bench.json" || true
PYTHONPATH="$root/bench" python3 - "$results/node_bench.json" <<'PY'
import json, sys

from bench_table import print_table

try:
    f = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    f = None
rows = []
if f is None:
    rows.append(("Node handle overhead", "bench/node_bench.js failed", "-", "NO"))
else:
    rows.append(("Node handleSync over C++, ordinary message, memory (CPU)",
                 f"{f['sync_overhead_ns']:.0f} ns ({f['sync_ns']:.0f} ns against {f['cxx_ns']:.0f} ns)", "<= 2 us",
                 "yes" if f["sync_overhead_ns"] <= 2000 else "NO"))
    rows.append(("Node await handle over C++, ordinary message, memory (CPU)",
                 f"{f['async_overhead_ns']:.0f} ns (wall {f['async_wall_ns']:.0f} ns)", "<= 15 us",
                 "yes" if f["async_overhead_ns"] <= 15000 else "NO"))
    rows.append(("(info) Node await handle through the thread pool, SQLite",
                 f"{f['pool_ns']:.0f} ns CPU, wall {f['pool_wall_ns']:.0f} ns", "-", "n/a"))
head = ("what", "figure", "target", "met?")
print()
print_table(head, rows)
PY
echo "raw results: $results" >&2
