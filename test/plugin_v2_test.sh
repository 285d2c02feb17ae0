#!/usr/bin/env bash
# Plugin ABI 2 beside ABI 1 (docs/plugins.md), end to end through `modelpin replay`: the shipped
# ABI 1 example (examples/plugins/usage) built against plugin_v1.h alone and the ABI 2 example
# (examples/plugins/accounting) against plugin_v2.h alone, loaded into one engine, both answer;
# the ABI 2 plugin gets its config section, observes routes and outcomes, and its directives
# consume or stop; descriptors with a wrong size or stride, a capability or a host version the
# host lacks, an unknown directive effect or a failing create() are refused naming the file.
set -euo pipefail
exe=$1 src=$2
# $tmp (HOME), the pinned clock and the checks: ok, bad, has, hasnt, finish.
source "$(dirname "$0")/lib/plugin_checks.sh"

# Each ABI's header alone in its own include folder: the v1 example cannot see plugin_v2.h.
mkdir -p "$tmp/v1/modelpin" "$tmp/v2/modelpin"
cp "$src/sdk/modelpin/plugin_v1.h" "$src/sdk/modelpin/plugin.hpp" "$tmp/v1/modelpin/"
cp "$src/sdk/modelpin/plugin_v2.h" "$tmp/v2/modelpin/"
if g++ -std=c++20 -shared -fPIC -Wall -Wextra -Werror -I"$tmp/v1" -o "$tmp/libusage.so" "$src/examples/plugins/usage/usage.cc"
then ok "the ABI 1 example builds against plugin_v1.h alone"; else bad "ABI 1 example builds"; exit 1; fi
if gcc -std=c99 -pedantic -Wall -Wextra -Werror -shared -fPIC -I"$tmp/v2" -o "$tmp/libaccounting.so" \
     "$src/examples/plugins/accounting/accounting.c" -lpthread
then ok "the ABI 2 example builds as C99 against plugin_v2.h alone"; else bad "ABI 2 example builds"; exit 1; fi
cat > "$tmp/both.c" <<'C'
#include <modelpin/plugin_v2.h>
#include <modelpin/plugin_v1.h>
int main(void) { return MODELPIN_PLUGIN_ABI_VERSION == 1 && MODELPIN_PLUGIN_ABI_V2 == 2 ? 0 : 1; }
C
mkdir -p "$tmp/both/modelpin"; cp "$tmp/v1/modelpin/"* "$tmp/v2/modelpin/"* "$tmp/both/modelpin/"
if gcc -std=c99 -pedantic -Wall -Werror -I"$tmp/both" -o "$tmp/both.bin" "$tmp/both.c" 2>&1 && "$tmp/both.bin"
then ok "plugin_v1.h and plugin_v2.h compile together"; else bad "both headers in one C file"; fi
probe() {  # probe NAME [-DVARIANT]
  gcc -std=c99 -pedantic -Wall -Wextra -Werror -shared -fPIC -I"$tmp/v2" ${2:-} -o "$tmp/$1.so" "$src/test/plugins/v2_plugin.c"
}
probe libprobe
for v in BAD_STRIDE BAD_SIZE BAD_CMD_SIZE NEEDS_FUTURE NEEDS_NEWER BAD_EFFECT BAD_CREATE; do probe "lib$v" "-D$v"; done

cp -r "$src/fixtures/state" "$tmp/state"
fresh() { local d; d=$(mktemp -d -p "$tmp"); cp -r "$tmp/state/." "$d"; echo "$d"; }
config() {  # config OUT PYTHON-EXPRESSION-ON-d
  python3 - "$src/fixtures/state/modelpin.json" "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); exec(sys.argv[3])
json.dump(d, open(sys.argv[2], "w"))
PY
}
config "$tmp/acct.json" 'd["plugins"] = {"entries": {"accounting": {"config": {"title": "Team usage"}}, "voice-call": {"enabled": True}}}'

# --- Both ABIs in one engine ---------------------------------------------------------------------
cat > "$tmp/both.txt" <<'T'
/nextcall
hello
//@ outcome ok
/tag work write a poem
//@ outcome rate_limit
/accounting
hello /acct
/nextcall
T
out=$("$exe" replay "$tmp/both.txt" --config "$tmp/acct.json" --state "$(fresh)" --plugin "$tmp/libusage.so" \
      --plugin "$tmp/libaccounting.so" 2>&1 || true)
has "ABI 1 plugin answers beside ABI 2" "Next call: anthropic/claude-opus-4-5" "$out"
has "... and keeps its session field" "Asked 2 times in this session." "$out"
has "ABI 2 create() got its config section (title)" "Team usage:" "$out"
has "a CONSUME directive: its reply, and the rest goes on to the model" '"/tag work write a poem"
REPLY[0]:
  | Counting this session'"'"'s messages under "work".
ROUTE anthropic/claude-opus-4-5' "$out"
has "... the model gets the text without the directive" 'write a poem' "$out"
has "routes observed per model (2 messages went to the model)" "anthropic/claude-opus-4-5: 2 routed" "$out"
has "... per tag, the CONSUME directive's field counted its own message" "  | tag untagged: 1 routed
  | tag work: 1 routed" "$out"
has "outcomes observed per profile" "anthropic:work: 1 ok, 1 failed" "$out"
has "a STOP directive inside a message: its reply, no route" '"hello /acct"
REPLY[0]:
  | Team usage:' "$out"
stop_block=$(awk '/^=== #/{p=0} /INPUT "hello \/acct"/{p=1} p' <<<"$out")
hasnt "... and nothing of that message goes to the model" "ROUTE" "$stop_block"
has "the host's log slot names the plugin" "modelpin: plugin accounting: info: counting routes and outcomes" "$out"
has "/commands lists both ABIs' commands" "/tag — Count this session" "$(printf '/commands\n' > "$tmp/c.txt"; "$exe" replay "$tmp/c.txt" --state "$(fresh)" --plugin "$tmp/libusage.so" --plugin "$tmp/libaccounting.so" 2>&1 || true)"

# What the host hands an ABI 2 plugin; a failing handle is an error reply and the next message answers.
config "$tmp/probe.json" 'd["plugins"] = {"entries": {"probe": {"config": {"k": [1, "two"]}}}}'
printf '/probe\nhello\n//@ outcome billing\n/boom\n/probe\n' > "$tmp/probe.txt"
out=$("$exe" replay "$tmp/probe.txt" --config "$tmp/probe.json" --state "$(fresh)" --plugin "$tmp/libprobe.so" 2>&1 || true)
has "create() receives plugins.entries.<name>.config as JSON" 'probe: config={"k":[1,"two"]} host=0.' "$out"
has "... the host table: ABI minor, capabilities, an optional slot, strides" "abi=2.0 caps=0x7f has_log=1 profiles=2 stride_ok=1" "$out"
has "observers saw one route and one outcome" "routes=1 outcomes=1 last=anthropic:work billing" "$out"
has "a return value other than 1 or 0: error reply naming the plugin" \
  "Plugin probe failed: it returned 7 from handle (expected 1 or 0). Nothing was changed." "$out"
out2=$("$exe" replay "$tmp/probe.txt" --state "$(fresh)" --plugin "$tmp/libprobe.so" 2>&1 || true)
has "without a section create() gets {}" "probe: config={} " "$out2"

# --- Refused at start: exit 1, the file named ----------------------------------------------------
refuse() {  # NAME NEEDLE ARGS...
  local name=$1 needle=$2; shift 2
  set +e; local err; err=$("$exe" replay "$tmp/probe.txt" "$@" 2>&1 >/dev/null); local rc=$?; set -e
  [ $rc -eq 1 ] && ok "$name: exit 1" || bad "$name: exit $rc"
  has "$name: message" "$needle" "$err"
}
# refuse_plugin NAME LIB MESSAGE [ARGS...]: $tmp/LIB.so loaded on a fresh state is refused with
# "$tmp/LIB.so: MESSAGE".
refuse_plugin() {
  local name=$1 lib=$tmp/$2.so message=$3
  shift 3
  refuse "$name" "$lib: $message" "$@" --state "$(fresh)" --plugin "$lib"
}
refuse_plugin "a command stride that is not a whole command" libBAD_STRIDE \
  "malformed plugin descriptor: command_stride 8 is not a whole modelpin_command_v2"
refuse_plugin "a descriptor struct_size smaller than ABI 2's" libBAD_SIZE \
  "malformed plugin descriptor: struct_size 16 is smaller than ABI version 2's"
refuse_plugin "a command whose own struct_size is too small" libBAD_CMD_SIZE \
  "malformed plugin descriptor: command 0 has struct_size 4"
refuse_plugin "a capability (host slot) this modelpin lacks" libNEEDS_FUTURE \
  "plugin probe needs what this modelpin (0.1.0, plugin ABI 2.0) does not offer: bit 40"
refuse_plugin "a newer modelpin needed" libNEEDS_NEWER "plugin probe needs modelpin 99.0.0 or newer; this is 0.1.0"
refuse_plugin "an unknown directive effect" libBAD_EFFECT \
  "malformed plugin descriptor: /probe: directive effect 7 is unknown to this modelpin"
refuse_plugin "create() fails with its reason and sees its config" libBAD_CREATE \
  "plugin probe failed to start: no licence in config {\"k\":[1,\"two\"]}" --config "$tmp/probe.json"
config "$tmp/v1conf.json" 'd["plugins"] = {"entries": {"nextcall": {"config": {"x": 1}}}}'
refuse_plugin "a config section for an ABI 1 plugin, which cannot take one" libusage \
  "plugin nextcall speaks plugin ABI version 1, which takes no configuration; remove \$.plugins.entries.nextcall.config" \
  --config "$tmp/v1conf.json"
config "$tmp/notobj.json" 'd["plugins"] = {"entries": {"probe": {"config": "yes"}}}'
refuse "a config section that is not an object, with its JSON path" '$.plugins.entries.probe.config' \
  --config "$tmp/notobj.json" --state "$(fresh)" --plugin "$tmp/libprobe.so"
# After the refusals the good pair answers.
out=$("$exe" replay "$tmp/both.txt" --config "$tmp/acct.json" --state "$(fresh)" --plugin "$tmp/libusage.so" \
      --plugin "$tmp/libaccounting.so" 2>&1 || true)
has "after the refusals both plugins answer" "Team usage:" "$out"

finish plugin_v2_test
