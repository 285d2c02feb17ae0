#!/usr/bin/env bash
# `modelpin serve` under wrk over loopback (keep-alive, 2 threads, 16 connections, 10 s each):
#
#   bench/service_bench.sh BUILD_DIR [REDIS_URL]      (bench/run.sh runs it with its redis-server)
#
# Side by side, interleaved over BENCH_SERVICE_ROUNDS rounds (default 3; each figure the median):
#   floor   the same server, POST /bench/floor: token check, then a constant 200 (no engine)
#   memory  POST /v1/turn of an ordinary message, sessions in memory
#   redis   the same with sessions (and auth health) in Redis at REDIS_URL
# Targets: memory >= 30,000 requests/s, <= 1.3x the floor's cost per request (the server's CPU
# time per request), p99 <= 5 ms;
# redis >= 10,000 requests/s. Prints the figures; asserts nothing.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: bench/service_bench.sh BUILD_DIR [REDIS_URL]" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
redis_url=${2:-}
rounds=${BENCH_SERVICE_ROUNDS:-3}
duration=${BENCH_SERVICE_SECONDS:-10}
command -v wrk >/dev/null || { echo "bench: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
ninja -C "$build" cli/modelpin >/dev/null
modelpin="$build/cli/modelpin"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/modelpin-svc-bench.XXXXXX")
pids=()
stop_all() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap stop_all EXIT
export MODELPIN_SERVICE_TOKEN="bench-token-$RANDOM$RANDOM$RANDOM"

# start NAME STATE [ARGS...]: a server on a free loopback port; sets url_NAME and pid_NAME.
start() {
  local name=$1 state=$2
  shift 2
  "$modelpin" serve --state "$state" --listen 127.0.0.1:0 --threads 2 "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pids+=($!)
  printf -v "pid_$name" '%s' "$!"
  for _ in $(seq 200); do grep -q "^listening on" "$tmp/$name.out" 2>/dev/null && break; sleep 0.05; done
  local addr
  addr=$(sed -n 's/^listening on //p' "$tmp/$name.out")
  [ -n "$addr" ] || { echo "bench: serve ($name) did not start: $(cat "$tmp/$name.err")" >&2; exit 1; }
  printf -v "url_$name" 'http://%s' "$addr"
}

cp -r "$root/fixtures/state" "$tmp/state-mem"
start floor "$tmp/state-mem" --memory-sessions --bench-floor
start memory "$tmp/state-mem" --memory-sessions
kinds="floor memory"
if [ -n "$redis_url" ]; then
  cp -r "$root/fixtures/state" "$tmp/state-redis"
  python3 - "$tmp/state-redis/modelpin.json" "$redis_url" <<'PY'
import json, sys
cfg = json.load(open(sys.argv[1]))
cfg["modelpin"] = {"store": sys.argv[2], "storePrefix": "svcbench:"}
json.dump(cfg, open(sys.argv[1], "w"))
PY
  start redis "$tmp/state-redis"
  kinds="$kinds redis"
fi

: >"$tmp/results"
for round in $(seq "$rounds"); do
  for kind in $kinds; do
    url_var="url_$kind"
    pid_var="pid_$kind"
    path=/v1/turn
    [ "$kind" = floor ] && path=/bench/floor
    echo "bench: service $kind, round $round/$rounds (${duration} s)..." >&2
    # The server's CPU time (user + system, clock ticks) over the run: its cost per request,
    # whatever share of the CPUs wrk and the rest of the machine take.
    t0=$(awk '{print $14 + $15}' "/proc/${!pid_var}/stat")
    out=$(wrk -t2 -c16 -d"${duration}s" --latency -s "$root/bench/service_post.lua" "${!url_var}$path" 2>&1)
    t1=$(awk '{print $14 + $15}' "/proc/${!pid_var}/stat")
    line=$(grep '^BENCH ' <<<"$out") || { echo "bench: wrk failed: $out" >&2; exit 1; }
    echo "kind=$kind ${line#BENCH } cpu_ticks=$((t1 - t0)) hz=$(getconf CLK_TCK)" >>"$tmp/results"
  done
done
[ -z "${BENCH_SERVICE_RESULTS:-}" ] || cp "$tmp/results" "$BENCH_SERVICE_RESULTS"

PYTHONPATH="$root/bench" python3 - "$tmp/results" <<'PY'
import os, sys

from bench_table import print_table

runs = {}
for ln in open(sys.argv[1]):
    kv = dict(x.split("=", 1) for x in ln.split())
    runs.setdefault(kv["kind"], []).append(kv)
def med(kind, key, f=float):
    v = sorted(f(r[key]) for r in runs[kind])
    return v[len(v) // 2]
def cpu_us(kind):  # the server's CPU time per request
    v = sorted(int(r["cpu_ticks"]) / int(r["hz"]) * 1e6 / int(r["requests"]) for r in runs[kind])
    return v[len(v) // 2]
def rps(kind):
    v = sorted(int(r["requests"]) / float(r["seconds"]) for r in runs[kind])
    return v[len(v) // 2]
rows = []
floor = cpu_us("floor")
for kind, label in (("floor", "floor: constant 200 (token checked, no engine)"),
                    ("memory", "POST /v1/turn, ordinary message, memory store"),
                    ("redis", "POST /v1/turn, ordinary message, Redis store")):
    if kind not in runs:
        continue
    r, p50, p99 = rps(kind), med(kind, "p50_us"), med(kind, "p99_us")
    errors = sum(int(x["errors"]) + int(x["non200"]) for x in runs[kind])
    cost = cpu_us(kind) / floor
    fig = f"{r:,.0f} req/s, p50 {p50 / 1000:.2f} ms, p99 {p99 / 1000:.2f} ms, server CPU {cpu_us(kind):.1f} us/request"
    if kind != "floor":
        fig += f" ({cost:.2f}x floor)"
    if errors:
        fig += f", {errors} errors/non-200"
    if kind == "memory":
        target = ">= 30,000 req/s, <= 1.3x floor, p99 <= 5 ms"
        met = r >= 30000 and cost <= 1.3 and p99 <= 5000 and not errors
    elif kind == "redis":
        target = ">= 10,000 req/s"
        met = r >= 10000 and not errors
    else:
        target, met = "-", None
    rows.append((label, fig, target, "n/a" if met is None else ("yes" if met else "NO")))
head = ("what (wrk -t2 -c16, keep-alive, loopback)", "figure", "target", "met?")
print_table(head, rows)
print(f"\nmedian of {len(runs['floor'])} interleaved rounds; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
      " (wrk shares the CPUs with the server).\ncost per request: the server process's CPU time (user + system) over the run divided by the"
      " requests answered.")
PY
