#!/usr/bin/env bash
# Four processes change ONE session at the same time, N changes each (default 2,500;
# $MODELPIN_STRESS_N), on SQLite and on Redis: every change is a read-modify-write of the
# session (a plugin counter, and a pin every other message). None may be lost and none may fail:
# the stores' version checks refuse a write made on a stale read, and the engine redoes the turn
# with jittered pauses within the store's time budget (docs/faults.md).
#
#   test/contention_test.sh build/test/contention_worker build/cli/modelpin . [N]
#
# Needs python3 and redis-server (started here on a unix socket in a temp dir, stopped on exit).
set -euo pipefail
worker=$1 modelpin=$2 src=$3 n=${4:-${MODELPIN_STRESS_N:-2500}}
tmp=$(mktemp -d)
redis_pid=
cleanup() {
  [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
export ANTHROPIC_API_KEY= OPENROUTER_API_KEY=
unset MODELPIN_CONFIG
fail() { echo "FAIL: $*" >&2; exit 1; }
key=agent:main:shared

# run NAME STORE_URL: four workers on one session of a fresh copy of fixtures/state.
run() {
  local name=$1 url=$2 state=$tmp/$1
  cp -r "$src/fixtures/state" "$state"
  chmod 600 "$state/agents/main/agent/auth-profiles.json"
  python3 - "$state/modelpin.json" "$url" <<'PY'
import json, sys
path, url = sys.argv[1], sys.argv[2]
cfg = json.load(open(path))
if url:
    cfg["modelpin"] = {"store": url, "storePrefix": "c:", "storeTimeoutMs": 2000}
json.dump(cfg, open(path, "w"))
PY
  local started=$SECONDS pids=() w
  for w in 1 2 3 4; do
    "$worker" "$state/modelpin.json" "$state" "$w" "$n" "$key" 2>"$tmp/$name.w$w.log" &
    pids+=($!)
  done
  local bad=0
  for w in 1 2 3 4; do
    wait "${pids[$((w - 1))]}" || { bad=1; echo "worker $w of $name failed:" >&2; tail -5 "$tmp/$name.w$w.log" >&2; }
  done
  [ "$bad" = 0 ] || fail "$name: a worker failed"
  "$modelpin" sessions show "$key" --json --state "$state" --config "$state/modelpin.json" >"$tmp/$name.json" ||
    fail "$name: sessions show"
  python3 - "$tmp/$name.json" "$n" "$name" <<'PY' || exit 1
import json, sys
entry = json.load(open(sys.argv[1]))["entry"]
n, name = int(sys.argv[2]), sys.argv[3]
plugins = entry.get("plugins", {})
want = {"count.total": str(4 * n), **{f"count.w{w}": str(n) for w in range(1, 5)}}
got = {k: plugins.get(k) for k in want}
if got != want:
    sys.exit(f"FAIL: {name}: counts {got}, want {want}: updates were lost")
if entry.get("modelOverride") not in ("claude-opus-4-5", "claude-sonnet-4-5"):
    sys.exit(f"FAIL: {name}: pin {entry.get('modelOverride')}")
PY
  echo "contention_test: $name: 4 x $n changes to one session, none lost, none failed, $((SECONDS - started)) s"
}

run sqlite ""

exe=$(command -v redis-server) || fail "redis-server is not installed (apt-get install redis-server)"
mkdir "$tmp/server"
"$exe" --port 0 --unixsocket "$tmp/server/r.sock" --save "" --dir "$tmp/server" >"$tmp/server/log" 2>&1 &
redis_pid=$!
for _ in $(seq 500); do [ -S "$tmp/server/r.sock" ] && break; sleep 0.02; done
[ -S "$tmp/server/r.sock" ] || fail "redis-server did not start: $(tail -5 "$tmp/server/log")"
run redis "unix://$tmp/server/r.sock"
