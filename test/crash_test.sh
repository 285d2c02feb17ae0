#!/usr/bin/env bash
# Crash safety: 1,000 durable changes made by the CLI, each in its own process, many of them
# killed with SIGKILL at a random moment. Half change the agent's stored auth order
# (`models auth order set`), half pin a session (`replay --state` of a one-line transcript
# `/model opus@anthropic:pN`). A change is acknowledged when its process exits 0.
#
# After every acknowledged change the store it changed must hold exactly it. Every 20 changes, and
# at the end, both stores must parse (auth-profiles.json with python's json; sessions.sqlite with
# sqlite3's integrity_check) and hold the last acknowledged change, or one of the changes whose
# process was killed after it (a killed change may or may not have landed, but nothing older, and
# nothing torn). Needs python3 and jq (sqlite3's shell is used when installed).
#
#   test/crash_test.sh build-rel/cli/modelpin . [CHANGES]
#
# CHANGES defaults to $MODELPIN_STRESS_N, else 1,000 (the ASan suite sets 100: there it looks for
# memory errors, and each sanitized process costs several times more).
set -euo pipefail
modelpin=$1 src=$2 changes=${3:-${MODELPIN_STRESS_N:-1000}}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
state=$tmp/s
store=$state/agents/main/agent/auth-profiles.json
db=$state/sessions.sqlite
export MODELPIN_NOW_MS=1800000000000 ANTHROPIC_API_KEY= OPENROUTER_API_KEY=
unset MODELPIN_CONFIG

cp -r "$src/fixtures/state" "$state"
chmod 600 "$store"
# 1,000 extra anthropic profiles, so every change writes a value of its own (anthropic:p<i>).
python3 - "$store" "$changes" <<'PY'
import json, sys
p, n = sys.argv[1], int(sys.argv[2])
d = json.load(open(p))
for i in range(n):
    d["profiles"][f"anthropic:p{i}"] = {"type": "api_key", "provider": "anthropic", "key": f"sk-ant-test-{i:06d}-xxxxxxxx"}
json.dump(d, open(p, "w"), indent=2)
PY

fail() { echo "FAIL: $*" >&2; exit 1; }
# sqlite3's shell when installed, else the same query through python's sqlite3 module.
sql() {
  if command -v sqlite3 >/dev/null; then sqlite3 "$@"; return; fi
  python3 -c 'import sqlite3, sys
for row in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]): print("|".join("" if v is None else str(v) for v in row))' "$@"
}

# The order / pin the stores hold now ("" when none).
stored_order() {
  python3 - "$store" <<'PY' || fail "auth store does not parse"
import json, sys
d = json.load(open(sys.argv[1]))
assert isinstance(d.get("profiles"), dict) and len(d["profiles"]) >= 3, "profiles lost"
print(",".join(d.get("order", {}).get("anthropic", [])))
PY
}
stored_pin() {
  [ -e "$db" ] || { echo ""; return; }
  local ok
  ok=$(sql "$db" 'PRAGMA integrity_check;') || fail "sessions.sqlite does not open"
  [ "$ok" = ok ] || fail "sessions.sqlite integrity_check: $ok"
  sql "$db" "SELECT json_extract(entry_json, '\$.authProfileOverride') FROM sessions WHERE agent='main' AND session_key='agent:main:main';"
}

# Acknowledged value, and the values of changes killed since it, per store.
order_ack="" order_pending=()
pin_ack="" pin_pending=()
acked=0 killed=0

check_one() {  # check_one WHAT GOT ACK PENDING...
  local what=$1 got=$2 ack=$3; shift 3
  [ "$got" = "$ack" ] && return 0
  local p
  for p in "$@"; do [ "$got" = "$p" ] && return 0; done
  fail "$what holds '$got'; last acknowledged '$ack', killed since: ${*:-none}"
}
check_stores() {
  check_one "auth order" "$(stored_order)" "$order_ack" ${order_pending[@]+"${order_pending[@]}"}
  check_one "session pin" "$(stored_pin)" "$pin_ack" ${pin_pending[@]+"${pin_pending[@]}"}
}

RANDOM=42
exec {sleeper}<> <(:)  # `read -t` on a pipe nobody writes: a sub-millisecond sleep without a fork
msleep() { read -r -t "$(printf '0.%03d' "$1")" -u "$sleeper" || true; }
start=$SECONDS
for ((i = 0; i < changes; i++)); do
  if ((i % 2 == 0)); then
    value="anthropic:p$i"
    "$modelpin" models auth order set --provider anthropic "$value" anthropic:work --state "$state" >/dev/null 2>"$tmp/err" &
    value="$value,anthropic:work"
    kind=order
  else
    echo "/model opus@anthropic:p$i" >"$tmp/t.txt"
    "$modelpin" replay "$tmp/t.txt" --state "$state" >/dev/null 2>"$tmp/err" &
    value="anthropic:p$i"
    kind=pin
  fi
  pid=$!
  # Kill about two thirds of the changes at a random moment of their run (an order change takes
  # ~25 ms, most of it fsync; a pin ~10 ms).
  if ((RANDOM % 3 != 0)); then
    if [ $kind = order ]; then msleep $((RANDOM % 25)); else msleep $((RANDOM % 12)); fi
    kill -9 "$pid" 2>/dev/null || true
  fi
  status=0
  wait "$pid" 2>/dev/null || status=$?
  if [ "$status" = 0 ]; then
    acked=$((acked + 1))
    if [ $kind = order ]; then order_ack=$value order_pending=(); else pin_ack=$value pin_pending=(); fi
    # Nothing runs now: the store must hold exactly this change (a cheap look; full checks below).
    if [ $kind = order ]; then
      got=$(jq -r '.order.anthropic // [] | join(",")' "$store") || fail "auth store does not parse after change $i"
    else
      got=$(sql "$db" "SELECT json_extract(entry_json, '\$.authProfileOverride') FROM sessions WHERE agent='main' AND session_key='agent:main:main';")
    fi
    [ "$got" = "$value" ] || fail "change $i ($kind $value) was acknowledged, but the store holds '$got'"
  elif [ "$status" = 137 ]; then
    killed=$((killed + 1))
    if [ $kind = order ]; then order_pending+=("$value"); else pin_pending+=("$value"); fi
  else
    fail "change $i ($kind $value) exited $status: $(cat "$tmp/err")"
  fi
  # The stores are checked every 20 changes (each check holds every value since the last one).
  ((i % 20 == 19)) && check_stores
done

# A final change, never killed: the stores must now hold exactly it.
"$modelpin" models auth order set --provider anthropic anthropic:default --state "$state" >/dev/null
echo "/model sonnet@anthropic:default" >"$tmp/t.txt"
"$modelpin" replay "$tmp/t.txt" --state "$state" >/dev/null
order_ack="anthropic:default" order_pending=() pin_ack="anthropic:default" pin_pending=()
check_stores
[ "$(stat -c %a "$store")" = 600 ] || fail "auth store mode $(stat -c %a "$store") after the run, want 600"
# The CLI reads what it wrote.
"$modelpin" models auth order get --provider anthropic --json --state "$state" | grep -qF '"order":["anthropic:default"]' ||
  fail "order get does not show the final order"

# Temp files of killed writers hold every secret of the store: they must at least be private.
# (That they are left behind at all is reported, not failed: see the report of this test.)
leftover=$(find "$state/agents/main/agent" -name 'auth-profiles.json.tmp-*' | wc -l)
loose=$(find "$state/agents/main/agent" -name 'auth-profiles.json.tmp-*' -perm /077 | wc -l)
((loose == 0)) || fail "$loose temp files of killed writers are readable by others"
echo "crash_test: $changes changes ($acked acknowledged, $killed killed by SIGKILL), stores intact," \
     "temp files left: $leftover, $((SECONDS - start)) s"
# About a third are killed here; the floors only catch a test that stopped biting (or stopped
# finishing anything), with room for a machine twice as fast or slow.
((killed >= changes / 10)) || fail "only $killed of $changes changes were killed: the kill timing no longer bites"
((acked >= changes / 10)) || fail "only $acked of $changes changes were acknowledged"
