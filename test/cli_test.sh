#!/usr/bin/env bash
# End-to-end checks of `modelpin models ...` (docs/cli.md) on copies of fixtures/state.
# usage: cli_test.sh /path/to/modelpin
set -euo pipefail

BIN=${1:?usage: cli_test.sh MODELPIN}
command -v jq >/dev/null || { echo "cli_test: jq not found, skipping"; exit 77; }
HERE=$(cd "$(dirname "$0")" && pwd)
FIXTURE="$HERE/../fixtures/state"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Pinned time: 2026-01-01T00:00:00Z.
NOW=1767225600000
H=3600000
KEY_A="sk-ant-api03-$(printf 'A%.0s' $(seq 95))"
TOKEN_B="sk-ant-oat01-$(printf 'B%.0s' $(seq 95))"
KEY_C="sk-or-v1-$(printf 'C%.0s' $(seq 64))"

PASSED=0
FAILED=0
CHECK=""
OUT=""
ERR=""
RC=0

fresh() {  # fresh STATE_DIR: a private copy of the fixture
  rm -rf "$1"
  mkdir -p "$1"
  cp -r "$FIXTURE/." "$1/"
}

# run NOW_MS STATE ARGS... [< stdin]: runs modelpin in a clean environment (no provider keys),
# HOME = the state dir so paths print as ~/...; sets OUT, ERR, RC.
run() {
  local now=$1 state=$2
  shift 2
  set +e
  env -i PATH="$PATH" HOME="$state" MODELPIN_NOW_MS="$now" "$BIN" "$@" --state "$state" \
    >"$WORK/out" 2>"$WORK/err"
  RC=$?
  set -e
  OUT=$(cat "$WORK/out")
  ERR=$(cat "$WORK/err")
}

check() { CHECK=$1; echo "check: $CHECK"; }
fail() {
  echo "  FAIL [$CHECK]: $*" >&2
  echo "  stdout: $OUT" >&2
  echo "  stderr: $ERR" >&2
  FAILED=$((FAILED + 1))
}
ok() { PASSED=$((PASSED + 1)); }
expect_rc() { if [[ $RC -eq $1 ]]; then ok; else fail "exit $RC, want $1"; fi; }
expect_out() { if [[ "$OUT" == "$1" ]]; then ok; else fail "stdout differs; want:"$'\n'"$1"; fi; }
expect_err() { if [[ "$ERR" == "$1" ]]; then ok; else fail "stderr differs; want:"$'\n'"$1"; fi; }
expect_out_has() { if grep -qF -- "$1" <<<"$OUT"; then ok; else fail "stdout lacks: $1"; fi; }
expect_out_lacks() { if grep -qF -- "$1" <<<"$OUT"; then fail "stdout contains: $1"; else ok; fi; }
expect_eq() { if [[ "$1" == "$2" ]]; then ok; else fail "got '$1', want '$2'"; fi; }

S="$WORK/s"
STORE="$S/agents/main/agent/auth-profiles.json"
fresh "$S"

# ---- auth order get ------------------------------------------------------------------------------
check "order get: no override, automatic selection"
run $NOW "$S" models auth order get --provider Anthropic
expect_rc 0
expect_out "Agent: main
Provider: anthropic
Auth state store: ~/agents/main/agent/auth-profiles.json
Auth profile order override: none (selecting automatically)"

check "order get --json: order null"
run $NOW "$S" models auth order get --provider anthropic --json
expect_rc 0
expect_out "{\"agentId\":\"main\",\"agentDir\":\"$S/agents/main/agent\",\"provider\":\"anthropic\",\"authStatePath\":\"$STORE\",\"order\":null}"

check "order get: fallback from config auth.order"
C="$WORK/c"
fresh "$C"
jq '.auth.order = {"anthropic": ["anthropic:default", "anthropic:work"], "openrouter": []}' \
  "$FIXTURE/modelpin.json" >"$C/modelpin.json"
run $NOW "$C" models auth order get --provider anthropic
expect_rc 0
expect_out_has "Auth profile order override: none (using order from config: anthropic:default, anthropic:work)"

check "order get: config selects no profiles"
run $NOW "$C" models auth order get --provider openrouter
expect_rc 0
expect_out_has "Auth profile order override: none (config selects no profiles)"

check "order get: missing --provider exits 1"
run $NOW "$S" models auth order get
expect_rc 1
expect_err 'modelpin: Missing required option "--provider <name>".'

check "order get: unknown agent exits 1"
run $NOW "$S" models auth order get --provider anthropic --agent nosuch
expect_rc 1
expect_err 'modelpin: Unknown agent id "nosuch".'

# ---- auth order set ------------------------------------------------------------------------------
check "order set: ids trimmed and de-duplicated"
run $NOW "$S" models auth order set --provider anthropic " anthropic:default " anthropic:work anthropic:default
expect_rc 0
expect_out "Agent: main
Provider: anthropic
Auth profile order override: anthropic:default, anthropic:work"
expect_eq "$(jq -c '.order.anthropic' "$STORE")" '["anthropic:default","anthropic:work"]'
expect_eq "$(stat -c %a "$STORE")" 600

check "order get after set"
run $NOW "$S" models auth order get --provider anthropic
expect_out_has "Auth profile order override: anthropic:default, anthropic:work"
run $NOW "$S" models auth order get --provider anthropic --json
expect_eq "$(jq -c '.order' <<<"$OUT")" '["anthropic:default","anthropic:work"]'

check "order set: unknown id exits 1, store unchanged"
BEFORE=$(sha256sum "$STORE")
run $NOW "$S" models auth order set --provider anthropic anthropic:work anthropic:nosuch
expect_rc 1
expect_err "modelpin: Auth profile \"anthropic:nosuch\" not found in ~/agents/main/agent. Run modelpin models status to see saved profiles."
expect_eq "$(sha256sum "$STORE")" "$BEFORE"

check "order set: profile of another provider exits 1, store unchanged"
run $NOW "$S" models auth order set --provider anthropic openrouter:default
expect_rc 1
expect_err 'modelpin: Auth profile "openrouter:default" is for openrouter, not anthropic.'
expect_eq "$(sha256sum "$STORE")" "$BEFORE"

check "order set: no ids exits 1"
run $NOW "$S" models auth order set --provider anthropic
expect_rc 1
expect_err 'modelpin: Missing required argument "profileIds".'
expect_eq "$(sha256sum "$STORE")" "$BEFORE"

# ---- auth order clear ----------------------------------------------------------------------------
check "order clear"
run $NOW "$S" models auth order clear --provider anthropic
expect_rc 0
expect_out "Agent: main
Provider: anthropic
Auth profile order override cleared; selecting automatically."
expect_eq "$(jq -c '.order.anthropic' "$STORE")" null
run $NOW "$S" models auth order get --provider anthropic
expect_out_has "Auth profile order override: none (selecting automatically)"

check "order clear: config fallback text"
run $NOW "$C" models auth order clear --provider anthropic
expect_rc 0
expect_out_has "Auth profile order override cleared; using order from config: anthropic:default, anthropic:work."

check "order set for an agent without its own store copies the credentials"
A="$WORK/a"
fresh "$A"
jq '.agents.defaults.systemAgent = {"agentId": "main"} | .agents.entries = {"main": {}, "work": {}}' \
  "$FIXTURE/modelpin.json" >"$A/modelpin.json"
MAIN_BEFORE=$(sha256sum "$A/agents/main/agent/auth-profiles.json")
run $NOW "$A" models auth order get --provider anthropic --agent Work
expect_out_has "Agent: work"
expect_out_has "Auth state store: ~/agents/main/agent/auth-profiles.json"
run $NOW "$A" models auth order set --provider anthropic --agent work anthropic:default
expect_rc 0
expect_out_has "Agent: work"
WORK_STORE="$A/agents/work/agent/auth-profiles.json"
expect_eq "$(jq -c '[.profiles | keys[]]' "$WORK_STORE")" '["anthropic:default","anthropic:work","openrouter:default"]'
expect_eq "$(jq -c '.order.anthropic' "$WORK_STORE")" '["anthropic:default"]'
expect_eq "$(stat -c %a "$WORK_STORE")" 600
expect_eq "$(sha256sum "$A/agents/main/agent/auth-profiles.json")" "$MAIN_BEFORE"
run $NOW "$A" models auth order get --provider anthropic --agent work
expect_out_has "Auth state store: ~/agents/work/agent/auth-profiles.json"

check "order set/clear: several agents need --agent (exit 1, nothing changed)"
BEFORE=$(sha256sum "$A/agents/main/agent/auth-profiles.json")
for action in "set --provider anthropic anthropic:work" "clear --provider anthropic"; do
  # shellcheck disable=SC2086
  run $NOW "$A" models auth order $action
  expect_rc 1
  expect_err "modelpin: Multiple agents are configured, but the model command has no explicit owner. Pass --agent <id>."
done
expect_eq "$(sha256sum "$A/agents/main/agent/auth-profiles.json")" "$BEFORE"

# ---- status --------------------------------------------------------------------------------------
check "status: summary and masked secrets"
fresh "$S"
run $NOW "$S" models status
expect_rc 0
expect_out_has "Default       : anthropic/claude-opus-4-5"
expect_out_has "Aliases (3)   : opus -> anthropic/claude-opus-4-5, sonnet -> anthropic/claude-sonnet-4-5, llama -> openrouter/meta-llama/llama-3.3-70b-instruct"
expect_out_has "Allowed models (0): all"
expect_out_has "- anthropic (in use) | profiles=2 (0 oauth, 1 token, 1 api-key) | order: anthropic:work=token:sk-ant-o...BBBBBBBB (next), anthropic:default=sk-ant-a...AAAAAAAA"
expect_out_has "- openrouter | profiles=1 (0 oauth, 0 token, 1 api-key) | order: openrouter:default=sk-or-v1...CCCCCCCC (next)"
expect_out_has "  - anthropic:work static"

check "status: no full secret in text or JSON"
for s in "$KEY_A" "$TOKEN_B" "$KEY_C"; do expect_out_lacks "$s"; done
run $NOW "$S" models status --json
expect_rc 0
for s in "$KEY_A" "$TOKEN_B" "$KEY_C"; do expect_out_lacks "$s"; done
expect_eq "$(jq -c '.providers[0].order' <<<"$OUT")" '["anthropic:work","anthropic:default"]'

check "status --check: static token selected -> 0"
run $NOW "$S" models status --check
expect_rc 0

check "paste-token: 12 h token replaces anthropic:work"
run $NOW "$S" models auth paste-token --provider anthropic --profile-id anthropic:work --expires-in 12h \
  <<<"  sk-ant-oat01-NEWTOKENNEWTOKENNEWTOKEN1234  "
expect_rc 0
expect_out "Saved anthropic:work (token) for anthropic: sk-ant-o...OKEN1234"
expect_out_lacks "NEWTOKENNEWTOKENNEWTOKEN"
expect_eq "$(stat -c %a "$STORE")" 600
expect_eq "$(jq -c '.profiles["anthropic:work"].expires' "$STORE")" "$((NOW + 12 * H))"
expect_eq "$(jq -r '.profiles["anthropic:work"].token' "$STORE")" "sk-ant-oat01-NEWTOKENNEWTOKENNEWTOKEN1234"

check "status --check: selected token expires in 12 h -> 2"
run $NOW "$S" models status --check
expect_rc 2
expect_out_has "  - anthropic:work expiring expires in 12h"

check "status --check: 48 h left -> 0"
run $((NOW - 36 * H)) "$S" models status --check
expect_rc 0
expect_out_has "  - anthropic:work ok expires in 2d"

check "status --check: expired token, api key selected -> 0"
run $((NOW + 13 * H)) "$S" models status --check
expect_rc 0
expect_out_has "  - anthropic:work expired"
expect_out_has "order: anthropic:default=sk-ant-a...AAAAAAAA (next)"

check "status --check: expired token is the only profile in the order -> 1"
run $NOW "$S" models auth order set --provider anthropic anthropic:work
expect_rc 0
run $((NOW + 13 * H)) "$S" models status --check
expect_rc 1
expect_out_has "- anthropic: no usable credential (left out: anthropic:work: token expired)."

check "status --check: expiry of a profile not selected does not count -> 0"
run $NOW "$S" models auth order set --provider anthropic anthropic:default anthropic:work
run $NOW "$S" models status --check
expect_rc 0

check "status --check: default model on openrouter without credential -> 1"
O="$WORK/o"
mkdir -p "$O"
echo '{"agents":{"defaults":{"model":{"primary":"openrouter/meta-llama/llama-3.3-70b-instruct"}}}}' >"$O/modelpin.json"
run $NOW "$O" models auth paste-api-key --provider anthropic <<<"sk-ant-api03-ZZZZZZZZZZZZZZZZZZZZ"
expect_rc 0
run $NOW "$O" models status --check
expect_rc 1
expect_out_has "- openrouter (in use)"
expect_out_has "- openrouter: no usable credential"
run $NOW "$O" models status
expect_rc 0

check "status --check: a fallback on a provider without credential -> 1"
echo '{"agents":{"defaults":{"model":{"primary":"anthropic/claude-opus-4-5","fallbacks":["openrouter/openrouter/auto"]}}}}' \
  >"$O/modelpin.json"
run $NOW "$O" models status --check
expect_rc 1
expect_out_has "Fallbacks (1) : openrouter/openrouter/auto"
expect_out_has "- openrouter (in use)"
echo '{"agents":{"defaults":{"model":{"primary":"anthropic/claude-opus-4-5"}}}}' >"$O/modelpin.json"
run $NOW "$O" models status --check
expect_rc 0

check "agent main is accepted when another single agent is configured"
jq '.agents.entries = {"ops": {}}' "$FIXTURE/modelpin.json" >"$O/modelpin.json"
run $NOW "$O" models auth order get --provider anthropic --agent main
expect_rc 0
expect_out_has "Agent: main"

# ---- paste-token / paste-api-key -----------------------------------------------------------------
check "paste-api-key: default id, mode 0600, masked output"
P="$WORK/p"
mkdir -p "$P"
run $NOW "$P" models auth paste-api-key --provider OpenRouter <<<"sk-or-v1-SECRETSECRETSECRET99"
expect_rc 0
expect_out "Saved openrouter:manual (api_key) for openrouter: sk-or-v1...SECRET99"
expect_eq "$(stat -c %a "$P/agents/main/agent/auth-profiles.json")" 600
expect_eq "$(jq -r '.profiles["openrouter:manual"].key' "$P/agents/main/agent/auth-profiles.json")" \
  "sk-or-v1-SECRETSECRETSECRET99"

check "paste-token: default id, no expiry"
run $NOW "$P" models auth paste-token --provider anthropic <<<"tok-0123456789abcdef"
expect_rc 0
expect_out "Saved anthropic:manual (token) for anthropic: tok-0123...89abcdef"
expect_eq "$(jq -c '.profiles["anthropic:manual"].expires' "$P/agents/main/agent/auth-profiles.json")" null

check "paste: secret with whitespace refused (exit 1, nothing written)"
BEFORE=$(sha256sum "$P/agents/main/agent/auth-profiles.json")
run $NOW "$P" models auth paste-token --provider anthropic --profile-id anthropic:x <<<"abc def"
expect_rc 1
expect_err "modelpin: the token contains whitespace"
run $NOW "$P" models auth paste-api-key --provider anthropic <<<$'abc\x01def'
expect_rc 1
expect_err "modelpin: the API key contains control characters"
expect_eq "$(sha256sum "$P/agents/main/agent/auth-profiles.json")" "$BEFORE"

check "paste: empty secret refused (exit 1)"
run $NOW "$P" models auth paste-api-key --provider anthropic </dev/null
expect_rc 1
expect_err "modelpin: no API key read from stdin"
run $NOW "$P" models auth paste-token --provider anthropic <<<"   "
expect_rc 1
expect_eq "$(sha256sum "$P/agents/main/agent/auth-profiles.json")" "$BEFORE"

check "paste-token: missing --provider exits 1"
run $NOW "$P" models auth paste-token </dev/null
expect_rc 1
expect_err 'modelpin: Missing required option "--provider <name>".'

check "paste-token: a profile the order does not select gets a note on stderr"
run $NOW "$S" models auth paste-token --provider anthropic <<<"tok-abcdefghijklmnopqrstuvwxyz"
expect_rc 0
expect_out "Saved anthropic:manual (token) for anthropic: tok-abcd...stuvwxyz"
expect_err "note: anthropic:manual is not in the effective auth order of anthropic (config auth.profiles/auth.order or a stored order select others); to use it first run: modelpin models auth order set --provider anthropic anthropic:manual anthropic:default anthropic:work"

# ---- usage errors and help -----------------------------------------------------------------------
check "usage: bad --expires-in exits 2"
for d in 12 12x h -3h 0h; do
  run $NOW "$P" models auth paste-token --provider anthropic --expires-in "$d" </dev/null
  expect_rc 2
  expect_eq "$(wc -l <<<"$ERR")" 1
done

check "usage: unknown options exit 2 with one line"
for verb in "models status" "models auth order get" "models auth order set" "models auth order clear" \
  "models auth paste-token" "models auth paste-api-key"; do
  # shellcheck disable=SC2086
  run $NOW "$P" $verb --provider anthropic --bogus </dev/null
  expect_rc 2
  expect_eq "$(wc -l <<<"$ERR")" 1
  expect_out ""
done
run $NOW "$P" models auth paste-api-key --provider anthropic --expires-in 1h </dev/null
expect_rc 2
run $NOW "$P" models frobnicate
expect_rc 2
run $NOW "$P" models auth order frob --provider anthropic
expect_rc 2

check "help: every verb prints usage and exits 0"
for verb in "models" "models auth" "models auth order" "models status" "models auth order get" \
  "models auth order set" "models auth order clear" "models auth paste-token" "models auth paste-api-key"; do
  # shellcheck disable=SC2086
  run $NOW "$P" $verb --help
  expect_rc 0
  expect_out_has "usage: modelpin models"
done
check "help: the words -h and help in a subcommand's place do the same"
for words in "models help" "models -h" "models auth help" "models auth -h" "models auth order help" "models auth order -h"; do
  # shellcheck disable=SC2086
  run $NOW "$P" $words
  expect_rc 0
  expect_out_has "usage: modelpin models"
done

# ---- chat ----------------------------------------------------------------------------------------
check "chat: replies, routes, error prefix, /quit"
CH="$WORK/ch"
fresh "$CH"
run $NOW "$CH" chat <<'EOF2'
/model sonnet
hello there

/model opus@openrouter:default
/quit
not reached
EOF2
expect_rc 0
expect_out "Model set to sonnet (anthropic/claude-sonnet-4-5) for this session only; configured default unchanged.
→ anthropic/claude-sonnet-4-5 via anthropic:work, anthropic:default
error: Auth profile \"openrouter:default\" is for openrouter, not anthropic."

check "chat: the pin persists to the next run (same --state)"
run $NOW "$CH" chat <<<"/model status"
expect_rc 0
expect_out_has "Current: anthropic/claude-sonnet-4-5"
expect_out_has "Default: anthropic/claude-opus-4-5"
expect_eq "$(stat -c %a "$CH/sessions.sqlite" >/dev/null && echo present)" present

check "chat: another --session starts at the default"
run $NOW "$CH" chat --session other <<<"/model status"
expect_rc 0
expect_out_has "Current: anthropic/claude-opus-4-5"

check "sessions history: every pin change of the session, oldest first (text and --json)"
run $NOW "$CH" sessions history agent:main:main
expect_rc 0
expect_out_has "2026-01-01 00:00 UTC user: default -> anthropic/claude-sonnet-4-5"
run $NOW "$CH" sessions history agent:main:main --json
expect_rc 0
expect_eq "$(jq -r '.history.history[0].source + " " + .history.history[0].to.model' <<<"$OUT")" "user claude-sonnet-4-5"
run $NOW "$CH" sessions history agent:main:nobody
expect_rc 0
expect_out_has "no model or auth profile changes recorded"

check "models status and auth list mask secrets with modelpin.masking"
jq '. + {modelpin: {masking: "fingerprint"}}' "$FIXTURE/modelpin.json" >"$WORK/fingerprint.json"
run $NOW "$CH" models status --config "$WORK/fingerprint.json"
expect_rc 0
expect_out_has "anthropic:default=fp:ac2ffd80"
expect_out_lacks "AAAAAAAA"
run $NOW "$CH" models auth list --config "$WORK/fingerprint.json"
expect_rc 0
expect_out_has "fp:ac2ffd80"
expect_out_lacks "AAAAAAAA"

check "chat: EOF without a trailing newline ends the chat"
run $NOW "$CH" chat < <(printf 'hi')
expect_rc 0
expect_out "→ anthropic/claude-sonnet-4-5 via anthropic:work, anthropic:default"

check "chat: usage and help"
run $NOW "$CH" chat --bogus </dev/null
expect_rc 2
expect_eq "$(wc -l <<<"$ERR")" 1
run $NOW "$CH" chat --help
expect_rc 0
expect_out_has "usage: modelpin chat"

# ---- auth usage (docs/usage-and-budgets.md) ----------------------------------------------------------
check "auth usage: a stored ledger in windows, unknown cost, a budget stopping the profile"
U="$WORK/u"
fresh "$U"
# anthropic:work: 2 calls in the 00:00 hour (one unpriced: cost unknown), 1 in the 00:00 hour 2 days before;
# one failed call (rate_limit) in the totals, which only the CLI's --json lists by class (failureCounts).
jq --argjson t $NOW --argjson d $((NOW - 48 * H)) '.usageStats["anthropic:work"] = {"lastUsed": $t, "errorCount": 0,
    "usage": {"calls": 3, "failures": 1, "input": 3000, "output": 300, "cacheRead": 0, "cacheWrite": 0,
              "costUsd": 0.02, "unpriced": 1, "failureCounts": {"rate_limit": 1},
              "hours": [[$d, 1, 0, 1000, 100, 0, 0, 0.01, 0], [$t, 2, 0, 2000, 200, 0, 0, 0.01, 1]],
              "days": [[$d, 1, 0, 1000, 100, 0, 0, 0.01, 0], [$t, 2, 0, 2000, 200, 0, 0, 0.01, 1]]}}' \
  "$U/agents/main/agent/auth-profiles.json" >"$WORK/u.json" && mv "$WORK/u.json" "$U/agents/main/agent/auth-profiles.json"
jq '.modelpin.budgets = [{"profile": "anthropic:work", "tokens": 2000, "window": "5h"}]' "$FIXTURE/modelpin.json" >"$U/modelpin.json"
run $((NOW + 60000)) "$U" models auth usage --window 5h --provider anthropic
expect_rc 0
expect_out_has "- anthropic:work: 2 calls, tokens 2000 in / 200 out / 0 cache read / 0 cache write, cost \$0.0100 + unknown (1 unpriced call); total 3 calls, \$0.0200 + unknown (1 unpriced call); over budget (tokens 2000 per 5h for profile anthropic:work) until 2026-01-01T06:00:00Z"
expect_out_has "- anthropic:default: 0 calls"
expect_out_lacks "openrouter"
run $((NOW + 60000)) "$U" models auth usage --json
expect_rc 0
expect_eq "$(jq -c '.profiles[] | select(.id == "anthropic:work") | [.windows["7d"].calls, .windows["5h"].costUsd, .total.unpricedCalls, .total.failures, .failureCounts, .budget.until]' <<<"$OUT")" \
  '[3,null,1,1,{"rate_limit":1},"2026-01-01T06:00:00Z"]'
check "auth list: each profile's calls and cost in the last day, unknown when unpriced"
run $((NOW + 60000)) "$U" models auth list --provider anthropic
expect_rc 0
expect_out_has "- anthropic:work (anthropic, "
expect_out_has "; last 1d: 2 calls, \$0.0100 + unknown (1 unpriced call)"
expect_out_has "; last 1d: 0 calls, \$0.0000"
run $((NOW + 60000)) "$U" models auth list --json
expect_rc 0
expect_eq "$(jq -c '[.profiles[] | [.id, .usage.window, .usage.calls, .usage.costUsd, .usage.costKnownUsd, .usage.unpricedCalls]]' <<<"$OUT")" \
  '[["anthropic:default","1d",0,0,0,0],["anthropic:work","1d",2,null,0.01,1],["openrouter:default","1d",0,0,0,0]]'
run $NOW "$U" models auth usage --window 2d
expect_rc 2
run $NOW "$U" models auth usage --help
expect_rc 0
expect_out_has "usage: modelpin models auth usage"

echo "cli_test: $PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
