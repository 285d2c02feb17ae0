#!/usr/bin/env bash
# modelpin doctor: each finding on a fixture state, with its exit status (0 clean, 1 errors,
# 2 warnings only). Works on copies of fixtures/state; never writes into the source tree.
set -euo pipefail
modelpin=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
now=1800000000000  # MODELPIN_NOW_MS pins the clock
fail=0

fresh() {  # a private copy of the fixture state
  rm -rf "$tmp/s" && cp -r "$src/fixtures/state" "$tmp/s" && chmod 600 "$tmp/s/agents/main/agent/auth-profiles.json"
}
check() {  # check NAME EXPECTED_EXIT PATTERN [doctor args...]
  local name=$1 want=$2 pattern=$3; shift 3
  local out status=0
  out=$(MODELPIN_NOW_MS=$now ANTHROPIC_API_KEY= OPENROUTER_API_KEY= "$modelpin" doctor --state "$tmp/s" "$@" 2>&1) || status=$?
  if [ "$status" != "$want" ] || ! grep -qF -- "$pattern" <<<"$out"; then
    printf 'FAIL %s: exit %s (want %s), output:\n%s\n' "$name" "$status" "$want" "$out"
    fail=1
  else
    echo "ok   $name"
  fi
}
set_token_expiry() {  # set_token_expiry MS: anthropic:work gets an expiry
  python3 - "$tmp/s/agents/main/agent/auth-profiles.json" "$1" <<'PY'
import json, sys
p, ms = sys.argv[1], int(sys.argv[2])
d = json.load(open(p)); d["profiles"]["anthropic:work"]["expires"] = ms
json.dump(d, open(p, "w"), indent=2)
PY
}

fresh
check "clean state exits 0" 0 "doctor: all clear"
chmod 644 "$tmp/s/agents/main/agent/auth-profiles.json"
check "world-readable auth store is a warning" 2 "fix: chmod 600 $tmp/s/agents/main/agent/auth-profiles.json"

fresh
set_token_expiry $((now + 3600000))
check "token expiring within 24 h is a warning" 2 "profile anthropic:work (token) expires in 1h"

fresh
set_token_expiry $((now - 7200000))
check "expired token is an error with the replacement command" 1 \
  "fix: replace it: modelpin models auth paste-token --provider anthropic --profile-id anthropic:work"

fresh
python3 - "$tmp/s/agents/main/agent/auth-profiles.json" <<'PY'
import json, sys
p = sys.argv[1]; d = json.load(open(p)); del d["profiles"]["openrouter:default"]; json.dump(d, open(p, "w"))
PY
check "provider of a configured model without credentials" 1 "error: No credentials found for openrouter"
check "... and says what to set" 1 "export OPENROUTER_API_KEY=... on the host, or put it in $tmp/s/.env"
check "... and why claude-cli models appear" 1 "warning: /models also lists claude-cli models"
printf 'OPENROUTER_API_KEY=sk-or-v1-from-dotenv-0000000000\n' > "$tmp/s/.env"
chmod 600 "$tmp/s/.env"
check "a .env key satisfies it" 0 "ok: openrouter uses OPENROUTER_API_KEY from $tmp/s/.env"
chmod 644 "$tmp/s/.env"
check "a readable .env is a warning" 2 "$tmp/s/.env is readable by group or others (mode 644)"

fresh
python3 - "$tmp/s/modelpin.json" <<'PY'
import json, sys
p = sys.argv[1]; d = json.load(open(p))
d["auth"]["order"] = {"anthropic": ["anthropic:nosuch", "openrouter:default", "anthropic:work"]}
json.dump(d, open(p, "w"), indent=2)
PY
check "auth.order naming a missing profile" 1 "warning: auth.order.anthropic names anthropic:nosuch"
check "auth.order naming another provider's profile" 1 "error: auth.order.anthropic names openrouter:default, which is for openrouter, not anthropic"

fresh
python3 - "$tmp/s/modelpin.json" <<'PY'
import json, sys
p = sys.argv[1]; d = json.load(open(p))
d["agents"]["defaults"]["modelPolicy"] = {"allow": ["anthropic/claude-opus-4-5", "anthropic/claude-sonet-4-5", "anthropic/*"]}
json.dump(d, open(p, "w"), indent=2)
PY
check "allowlist entry naming no known model is a warning" 2 \
  "warning: agents.defaults.modelPolicy.allow entry \"anthropic/claude-sonet-4-5\" names anthropic/claude-sonet-4-5, which is neither in the catalog nor configured"

fresh
printf '{"agents": {"defaults": {"model": {"primary": 7}}}}' > "$tmp/s/modelpin.json"
check "malformed config names file, path and position" 1 "modelpin.json: \$.agents.defaults.model.primary (1:47): expected a string, found a number"

fresh
printf 'not a database, but long enough to look like a header........................' > "$tmp/s/sessions.sqlite"
check "an unusable session store" 1 "sessions.sqlite: "

# A typo under modelpin's own namespace is an error in every client, with the nearest key; keys
# elsewhere that modelpin does not read (OpenClaw's) are listed as ignored, and change nothing.
fresh
python3 - "$tmp/s/modelpin.json" <<'PY'
import json, sys
p = sys.argv[1]; d = json.load(open(p))
d["modelpin"] = {"stoer": "redis://127.0.0.1:6379"}
json.dump(d, open(p, "w"), indent=2)
PY
check "a misspelt modelpin key is an error with the nearest key" 1 \
  'error: '"$tmp"'/s/modelpin.json: $.modelpin.stoer ('
check "... saying what was meant" 1 'unknown key "stoer" (did you mean "store"?)'
out=$(MODELPIN_NOW_MS=$now "$modelpin" doctor --state "$tmp/s" 2>&1) || true
if grep -qF "ok: config" <<<"$out"; then echo "FAIL ... and doctor does not say the config parses"; fail=1
else echo "ok   ... and doctor does not say the config parses"; fi
set +e; err=$("$modelpin" models status --state "$tmp/s" 2>&1 >/dev/null); rc=$?; set -e
[ $rc -eq 1 ] && grep -qF 'did you mean "store"?' <<<"$err" && echo "ok   ... and models status refuses it (exit 1)" ||
  { echo "FAIL models status on a misspelt key: exit $rc: $err"; fail=1; }

fresh
python3 - "$tmp/s/modelpin.json" <<'PY'
import json, sys
p = sys.argv[1]; d = json.load(open(p))
d["gateway"] = {"port": 18789, "bind": "loopback"}
d["agents"]["defaults"]["workspace"] = "~/clawd"
d["models"]["providers"]["anthropic"]["models"][0]["contextWindow"] = 200000
json.dump(d, open(p, "w"), indent=2)
PY
check "OpenClaw's keys are listed as ignored" 0 'ok: ignored: $.gateway (modelpin does not read it)'
check "... at any depth" 0 'ok: ignored: $.agents.defaults.workspace (modelpin does not read it)'
check "... in arrays too" 0 'ok: ignored: $.models.providers.anthropic.models[0].contextWindow'
out=$(MODELPIN_NOW_MS=$now ANTHROPIC_API_KEY= OPENROUTER_API_KEY= "$modelpin" doctor --state "$tmp/s" 2>&1) || true
if grep -qF 'gateway.port' <<<"$out"; then echo "FAIL the members of an ignored key are listed again"; fail=1
else echo "ok   the members of an ignored key are not listed again"; fi

fresh
out=$("$modelpin" doctor --state "$tmp/s" --json) || true
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert all(set(f)=={"level","what","fix"} for f in d["findings"])' "$out" \
  && echo "ok   --json gives level/what/fix objects" || { echo "FAIL --json"; fail=1; }
if grep -qF "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" <<<"$out"; then echo "FAIL doctor printed a secret"; fail=1; fi
exit $fail
