#!/usr/bin/env bash
# modelpin explain on the CLI: text and --json, a policy refusal, usage errors; never a secret.
set -euo pipefail
modelpin=$1 src=$2
fail=0
run() { MODELPIN_STATE_DIR="$src/fixtures/state" ANTHROPIC_API_KEY= OPENROUTER_API_KEY= "$modelpin" explain "$@"; }
expect() {  # expect NAME PATTERN OUTPUT
  if grep -qF -- "$2" <<<"$3"; then echo "ok   $1"; else printf 'FAIL %s: no "%s" in:\n%s\n' "$1" "$2" "$3"; fail=1; fi
}

out=$(run sonnet@anthropic:default)
expect "alias step" "2. resolved to anthropic/claude-sonnet-4-5 via alias sonnet" "$out"
expect "order with its source" "Auth for anthropic (order from config auth.profiles, ranked automatically):" "$out"
expect "each profile with its reason" "1. anthropic:work token:sk-ant-o...BBBBBBBB — type token, never used" "$out"
expect "the pin it would set" "Session: profile anthropic:default would be pinned for this session and tried first" "$out"

out=$(run --config "$src/fixtures/config/allowlist.json" haiku)
expect "policy refusal names the policy" "policy agents.defaults.modelPolicy.allow: no entry allows it" "$out"
expect "... and the reply /model would give" "Result: refused: Model \"anthropic/claude-haiku-4-5\" is not allowed." "$out"
out=$(run --config "$src/fixtures/config/allowlist.json" sonnet)
expect "policy entry that allowed it" "allowed by \"anthropic/claude-sonnet-4-5\"" "$out"

json=$(run claude --json)
python3 - "$json" <<'PY' && echo "ok   --json shape and fuzzy result" || { echo "FAIL --json"; exit 1; }
import json, sys
d = json.loads(sys.argv[1])
assert set(d) == {"input", "steps", "selection", "error", "auth", "session"}, d.keys()
assert d["selection"] == {"provider": "anthropic", "model": "claude-opus-4-5", "alias": "opus", "isDefault": True}
assert any(s.startswith("fuzzy \"claude\"") for s in d["steps"])
assert [p["id"] for p in d["auth"]["order"]] == ["anthropic:work", "anthropic:default"]
assert d["error"] is None
PY

status=0; run >/dev/null 2>&1 || status=$?
[ "$status" = 2 ] && echo "ok   no reference: usage error, exit 2" || { echo "FAIL no reference exit $status"; fail=1; }
status=0; run sonnet --bogus >/dev/null 2>&1 || status=$?
[ "$status" = 2 ] && echo "ok   unknown option: exit 2" || { echo "FAIL unknown option exit $status"; fail=1; }
all=$(run sonnet; run llama --json; run nosuch/x)
if grep -qE 'A{24}|B{24}|C{24}' <<<"$all"; then echo "FAIL a secret was printed"; fail=1; else echo "ok   no secret printed"; fi
exit $fail
