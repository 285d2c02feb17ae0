#!/usr/bin/env bash
# Concurrent writers on one state dir, at once:
#  * two shell loops, each running `modelpin models auth order set` 1,000 times on the same
#    agent's auth store, for providers of its own (pa0..pa999 and pb0..pb999): every one of the
#    2,000 read-modify-writes must survive (a lost update drops another provider's order);
#  * two `modelpin replay --state` processes, each pinning 1,000 sessions of its own
#    (agent:main:a<i> / agent:main:b<i>) in sessions.sqlite: all 2,000 pins must be there.
#
# Needs python3 (sqlite3's shell is used when installed).
#
#   test/concurrency_test.sh build-rel/cli/modelpin . [N]
#
# N defaults to $MODELPIN_STRESS_N, else 1,000 (the ASan suite sets 100).
set -euo pipefail
modelpin=$1 src=$2 n=${3:-${MODELPIN_STRESS_N:-1000}}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
state=$tmp/s
store=$state/agents/main/agent/auth-profiles.json
export MODELPIN_NOW_MS=1800000000000 ANTHROPIC_API_KEY= OPENROUTER_API_KEY=
unset MODELPIN_CONFIG

fail() { echo "FAIL: $*" >&2; exit 1; }
# sqlite3's shell when installed, else the same query through python's sqlite3 module.
sql() {
  if command -v sqlite3 >/dev/null; then sqlite3 "$@"; return; fi
  python3 -c 'import sqlite3, sys
for row in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]): print("|".join("" if v is None else str(v) for v in row))' "$@"
}

cp -r "$src/fixtures/state" "$state"
chmod 600 "$store"
python3 - "$store" "$n" <<'PY'
import json, sys
p, n = sys.argv[1], int(sys.argv[2])
d = json.load(open(p))
for w in "ab":
    for i in range(n):
        d["profiles"][f"p{w}{i}:k"] = {"type": "api_key", "provider": f"p{w}{i}", "key": f"sk-test-{w}{i:06d}-xxxxxxxx"}
json.dump(d, open(p, "w"), indent=2)
PY
profiles_before=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["profiles"]))' "$store")

order_writer() {  # order_writer a|b: N order changes, one process each; prints failures
  local w=$1 i
  for ((i = 0; i < n; i++)); do
    "$modelpin" models auth order set --provider "p$w$i" "p$w$i:k" --state "$state" >/dev/null 2>>"$tmp/err-$w" ||
      echo "order set p$w$i exited $?" >>"$tmp/err-$w"
  done
}
for w in a b; do
  {
    for ((i = 0; i < n; i++)); do
      echo "//@ session agent:main:$w$i"
      if ((i % 2)); then echo "/model opus@anthropic:work"; else echo "/model sonnet@anthropic:default"; fi
    done
  } >"$tmp/pins-$w.txt"
done

start=$SECONDS
: >"$tmp/err-a" && : >"$tmp/err-b"
order_writer a & pa=$!
order_writer b & pb=$!
"$modelpin" replay "$tmp/pins-a.txt" --state "$state" >/dev/null 2>"$tmp/err-ra" & ra=$!
"$modelpin" replay "$tmp/pins-b.txt" --state "$state" >/dev/null 2>"$tmp/err-rb" & rb=$!
st=0
for p in $pa $pb $ra $rb; do wait "$p" || st=1; done
elapsed=$((SECONDS - start))
for f in "$tmp"/err-*; do
  [ -s "$f" ] && fail "$(basename "$f"): $(head -n 5 "$f")"
done
((st == 0)) || fail "a replay exited non-zero"

# Every order change is there, each exactly as set, and no profile was lost.
python3 - "$store" "$n" "$profiles_before" <<'PY' || fail "auth store check"
import json, sys
p, n, before = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
d = json.load(open(p))
order = d.get("order", {})
missing = [f"p{w}{i}" for w in "ab" for i in range(n) if order.get(f"p{w}{i}") != [f"p{w}{i}:k"]]
if missing:
    sys.exit(f"{len(missing)} of {2 * n} order changes lost, e.g. {missing[:5]}")
if len(d["profiles"]) != before:
    sys.exit(f"profiles: {len(d['profiles'])}, before {before}")
print(f"auth order: all {2 * n} changes present")
PY
[ "$(stat -c %a "$store")" = 600 ] || fail "auth store mode $(stat -c %a "$store"), want 600"

# Every pin is there, with the profile its transcript chose.
[ "$(sql "$state/sessions.sqlite" 'PRAGMA integrity_check;')" = ok ] || fail "sessions.sqlite integrity"
for w in a b; do
  got=$(sql "$state/sessions.sqlite" "SELECT count(*) FROM sessions WHERE agent='main' AND session_key LIKE 'agent:main:$w%';")
  [ "$got" = "$n" ] || fail "sessions of writer $w: $got, want $n"
  wrong=$(sql "$state/sessions.sqlite" "SELECT count(*) FROM sessions WHERE agent='main' AND session_key LIKE 'agent:main:$w%'
    AND json_extract(entry_json, '\$.authProfileOverride') IS NOT
        (CASE CAST(substr(session_key, 13) AS INTEGER) % 2 WHEN 1 THEN 'anthropic:work' ELSE 'anthropic:default' END);")
  [ "$wrong" = 0 ] || fail "$wrong sessions of writer $w hold the wrong pin"
done
echo "concurrency_test: 2 x $n order changes and 2 x $n pins, none lost, ${elapsed} s"
