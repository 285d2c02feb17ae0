#!/usr/bin/env bash
# The credential lifecycle on the CLI: models auth list, cooldowns, cooldowns clear, remove,
# status --check on a route whose every profile cools down, and setup-token (errors without a
# terminal or without claude; the real flow under a pseudo-terminal with a stand-in claude).
# Works on copies of fixtures/state; never writes into the source tree.
set -euo pipefail
modelpin=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export MODELPIN_NOW_MS=1796119200000 ANTHROPIC_API_KEY= OPENROUTER_API_KEY=  # 2026-12-01T10:00:00Z
fail=0
cp -r "$src/fixtures/state" "$tmp/s" && chmod 600 "$tmp"/s/agents/*/agent/auth-profiles.json
cfg="$src/fixtures/config/rotation.json"  # default agent rot
store="$tmp/s/agents/rot/agent/auth-profiles.json"

check() {  # check NAME EXPECTED_EXIT PATTERN CMD...
  local name=$1 want=$2 pattern=$3; shift 3
  local out status=0
  out=$("$@" 2>&1 </dev/null) || status=$?
  if [ "$status" != "$want" ] || ! grep -qF -- "$pattern" <<<"$out"; then
    printf 'FAIL %s: exit %s (want %s), output:\n%s\n' "$name" "$status" "$want" "$out"
    fail=1
  else
    echo "ok   $name"
  fi
}
mp() { "$modelpin" "$@" --state "$tmp/s" --config "$cfg"; }
cool() {  # cool ID FIELD UNTIL [REASON]: writes health into the store as the engine would
  python3 - "$store" "$@" <<'PY'
import json, sys
p, pid, field, until = sys.argv[1:5]
d = json.load(open(p))
u = d.setdefault("usageStats", {}).setdefault(pid, {"lastUsed": 0, "errorCount": 0})
u[field] = int(until); u["errorCount"] = u.get("errorCount", 0) + 1
if len(sys.argv) > 5: u["disabledReason"] = sys.argv[5]
json.dump(d, open(p, "w"), indent=2)
PY
}

check "list shows type, masked secret, expiry, health" 0 \
  "- anthropic:team (anthropic, token) sk-ant-o...TTTTTTTT expires 2026-12-01T11:00:00Z: ok" mp models auth list
check "list never prints a whole secret" 0 "sk-or-v1...FFFFFFFF" mp models auth list --provider openrouter
check "list --json" 0 '"id":"anthropic:alpha","provider":"anthropic","type":"api_key","secret":"sk-ant-a...DDDDDDDD","expires":null,"state":"ok"' \
  mp models auth list --json
check "no cooldowns" 0 "No profile is cooling down or disabled." mp models auth cooldowns

cool anthropic:team cooldownUntil 1796119230000
cool anthropic:alpha disabledUntil 1796119800000 billing
check "list shows the cooldown" 0 "anthropic:team (anthropic, token) sk-ant-o...TTTTTTTT expires 2026-12-01T11:00:00Z: cooldown until 2026-12-01T10:00:30Z, 1 error" \
  mp models auth list
check "cooldowns lists them" 0 "- anthropic:alpha: disabled (billing) until 2026-12-01T10:10:00Z, 1 error (10m left)" mp models auth cooldowns
check "cooldowns --json" 0 '"id":"anthropic:team","provider":"anthropic","model":null,"state":"cooldown","until":"2026-12-01T10:00:30Z"' \
  mp models auth cooldowns --json
check "status --check passes while one profile is usable" 0 "anthropic:beta" mp models status --check
cool anthropic:beta cooldownUntil 1796119260000
check "status --check fails when every profile cools down" 1 "every profile is cooling down or disabled" \
  mp models status --check
check "clear one profile" 0 "Cleared cooldowns and error counts of anthropic:team." mp models auth cooldowns clear anthropic:team
check "clear an unknown profile" 1 'Auth profile "anthropic:nosuch" not found' mp models auth cooldowns clear anthropic:nosuch
check "clear a provider" 0 "Cleared cooldowns and error counts of anthropic:alpha, anthropic:beta." \
  mp models auth cooldowns clear --provider anthropic
check "nothing left" 0 "No profile is cooling down or disabled." mp models auth cooldowns
check "status --check: team leads again (expiring within 24 h: 2)" 2 "anthropic:team" mp models status --check
check "clear takes an ID or --provider, not both" 2 "give an ID or --provider, not both" \
  mp models auth cooldowns clear anthropic:team --provider anthropic

check "remove" 0 "Removed anthropic:beta" mp models auth remove anthropic:beta
check "removed from the store" 1 "" grep -q '"anthropic:beta"' "$store"
check "remove an unknown profile" 1 'Auth profile "anthropic:beta" not found' mp models auth remove anthropic:beta
check "remove needs an ID" 2 "expected one profile ID" mp models auth remove
check "every verb has --help" 0 "usage: modelpin models auth cooldowns" mp models auth cooldowns --help

check "setup-token needs --provider" 1 'Missing required option "--provider <name>".' mp models auth setup-token
check "setup-token without a terminal names paste-token" 1 \
  "setup-token needs an interactive terminal (claude setup-token asks you to sign in); without one, run \`claude setup-token\` where it can, then store its token with: modelpin models auth paste-token --provider anthropic" \
  mp models auth setup-token --provider anthropic
check "setup-token knows anthropic only" 1 "modelpin models auth paste-token --provider openrouter" \
  mp models auth setup-token --provider openrouter

cool anthropic:alpha disabledUntil 1796119800000 auth
check "doctor reports a profile disabled for auth (error)" 1 \
  "profile anthropic:alpha is disabled (auth) until 2026-12-01T10:10:00Z, 1 error" mp doctor
cool anthropic:alpha disabledUntil 1796119800000 billing
check "doctor reports a profile disabled for billing" 2 "models auth cooldowns clear anthropic:alpha" mp doctor
mp models auth cooldowns clear >/dev/null

# Under a pseudo-terminal, with and without a stand-in claude on PATH.
/usr/bin/python3 "$src/test/setup_token_tty.py" "$modelpin" "$tmp/s" "$cfg" || fail=1

exit $fail
