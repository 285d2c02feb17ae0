#!/usr/bin/env bash
# Run-time plugins end to end (see test/meson.build): the installed SDK, examples/plugins/usage
# built from it through pkg-config and loaded into replay and chat, plugins.load, the loader's
# refusals (files checked before dlopen: truncated, foreign, not ELF; clashes naming both sides;
# the same file twice), the load order, and the checks on what a plugin returns.
set -euo pipefail
exe=$1 build=$2 src=$3 bad=$4 bad_abi=$5 bad_init=$6 not_plugin=$7 clash=$8 second=$9
# $tmp (HOME), the pinned clock and the checks: ok, bad, has, hasnt, finish.
source "$(dirname "$0")/lib/plugin_checks.sh"

# --- The installed tree ------------------------------------------------------------------------
meson install -C "$build" --destdir "$tmp/dest" --no-rebuild --quiet >/dev/null
mkdir -p "$tmp/pc"
for pc in modelpin modelpin-plugin; do
  f=$(find "$tmp/dest" -name "$pc.pc" | head -1)
  [ -n "$f" ] || { bad "$pc.pc installed"; continue; }
  prefix=$(sed -n 's/^prefix=//p' "$f")
  sed "s|^prefix=.*|prefix=$tmp/dest$prefix|" "$f" > "$tmp/pc/$pc.pc"
  ok "$pc.pc installed"
done
export PKG_CONFIG_PATH="$tmp/pc"
inc=$(find "$tmp/dest" -type d -name include | head -1)
abi=$(sed -n "s/^abi_version = '\([0-9]*\)'.*/\1/p" "$src/meson.build")  # the soname's number
if find "$tmp/dest" -name "libmodelpin.so.$abi" | grep -q .; then ok "versioned soname libmodelpin.so.$abi"; else bad "libmodelpin.so.$abi installed"; fi
soname=$(objdump -p "$(find "$tmp/dest" -name "libmodelpin.so.$abi.*" | head -1)" | awk '/SONAME/ {print $2}')
[ "$soname" = "libmodelpin.so.$abi" ] && ok "SONAME is libmodelpin.so.$abi" || bad "SONAME is \"$soname\""
[ -z "$(find "$inc" -name status_macros.h -o -name json_file.h -o -name 'text*.h' -o -name catalog.h \
        -o -name replay.h -o -name model_plugin.h -o -name memory_store.h -o -name sqlite_store.h \
        -o -name redis_store.h -o -name session_cache.h -o -path '*/sessions/redis/*')" ] &&
  ok "internal headers are not installed" || bad "internal headers installed: $(find "$inc" -name '*.h' | sed "s|$inc/||" | tr '\n' ' ')"
[ -z "$(find "$inc" -mindepth 1 -maxdepth 1 ! -name modelpin)" ] && ok "one include prefix: modelpin/" ||
  bad "headers outside include/modelpin: $(ls "$inc")"
missing=""
while IFS= read -r h; do
  while IFS= read -r i; do
    [ -e "$inc/modelpin/$i" ] || [ -e "$inc/$i" ] || missing+=" $h -> $i"
  done < <(sed -n 's/^#include ["<]\([^">]*\)[">].*/\1/p' "$h" | grep -E '^(base|engine|grammar|plugins|replay|observe|embed|calls|modelpin)/')
done < <(find "$inc" -name '*.h' -o -name '*.hpp')
[ -z "$missing" ] && ok "installed headers include only installed headers" || bad "unresolved includes:$missing"
macros=$(grep -rhoE '^#define [A-Za-z_][A-Za-z0-9_]*' "$inc" | awk '{print $2}' | grep -v '^MODELPIN_' || true)
[ -z "$macros" ] && ok "installed headers define only MODELPIN_ macros" || bad "unprefixed macros: $macros"
cat > "$tmp/c99.c" <<'C'
#include <modelpin/plugin_v1.h>
#include <modelpin/version.h>
int main(void) { return MODELPIN_PLUGIN_ABI_VERSION == 1 && MODELPIN_VERSION_MAJOR >= 0 ? 0 : 1; }
C
if gcc -std=c99 -Wall -Wextra -pedantic -Werror $(pkg-config --cflags modelpin-plugin) -o "$tmp/c99" "$tmp/c99.c" &&
   "$tmp/c99"; then ok "plugin_v1.h compiles as C99"; else bad "plugin_v1.h compiles as C99"; fi

# --- examples/plugins/usage from the installed SDK ---------------------------------------------
usage=$tmp/libusage.so
if g++ -std=c++20 -shared -fPIC -Wall -Wextra -Werror -o "$usage" "$src/examples/plugins/usage/usage.cc" \
     $(pkg-config --cflags modelpin-plugin); then ok "usage plugin builds from pkg-config modelpin-plugin"
else bad "usage plugin builds"; exit 1; fi

# A state whose anthropic:default failed twice and cools down; anthropic:work was used an hour ago.
cp -r "$src/fixtures/state" "$tmp/state"
python3 - "$tmp/state/agents/main/agent/auth-profiles.json" <<'PY'
import json, sys
p = sys.argv[1]; d = json.load(open(p)); now = 1800000000000
d["usageStats"] = {"anthropic:default": {"errorCount": 2, "cooldownUntil": now + 300000},
                   "anthropic:work": {"lastUsed": now - 3600000}}
json.dump(d, open(p, "w"))
PY
chmod 600 "$tmp/state/agents/main/agent/auth-profiles.json"
# A fresh copy of that state for each run (replay and chat keep sessions in <state>).
fresh() { local d; d=$(mktemp -d -p "$tmp"); cp -r "$tmp/state/." "$d"; echo "$d"; }
printf '/nextcall\nhello\n/model sonnet@anthropic:default\n/nextcall\n/commands\n' > "$tmp/nextcall.txt"
out=$("$exe" replay "$tmp/nextcall.txt" --state "$(fresh)" --plugin "$usage" 2>&1)
has "replay: /nextcall names the next call" "Next call: anthropic/claude-opus-4-5" "$out"
has "replay: profiles in order, masked, with health" \
"  | 1. anthropic:work (token:sk-ant-o...BBBBBBBB), last used 2027-01-15 07:00 UTC, 0 errors, ready
  | 2. anthropic:default (sk-ant-a...AAAAAAAA), never used, 2 errors, cooling down until 2027-01-15 08:05 UTC" "$out"
# The pin cools down (see the state above): as in OpenClaw, it waits behind the ready profile.
has "replay: after a pin, the new model; a pin cooling down after the ready profile" "Next call: anthropic/claude-sonnet-4-5
  | 1. anthropic:work" "$out"
has "replay: its namespaced field persists between turns" "Asked 2 times in this session." "$out"
has "replay: /commands lists the plugin's command" "/nextcall — Show the model and credentials the next call would use" "$out"
hasnt "replay: no secret leaves" "AAAAAAAAAAAAAAAAAAAAAAAA" "$out"

out=$(printf '/nextcall\n/commands\n' | "$exe" chat --state "$(fresh)" --plugin "$usage" 2>&1)
has "chat: /nextcall answers" "Next call: anthropic/claude-opus-4-5" "$out"
has "chat: /commands lists it" "/nextcall — Show" "$out"
out=$("$exe" chat --help --plugin "$usage" 2>&1)
has "chat --help lists commands from metadata" "/nextcall — Show" "$out"
has "chat --help lists built-in commands" "/verbose (/v) — " "$out"

out=$("$exe" replay "$tmp/nextcall.txt" --state "$(fresh)" 2>&1)
has "without the plugin /nextcall is ordinary text" '=== #1 INPUT "/nextcall"
REPLY: <none>
ROUTE anthropic/claude-opus-4-5' "$out"

# plugins.load, relative to the config file, from another working directory.
mkdir -p "$tmp/cfg"
cp "$usage" "$tmp/cfg/libusage.so"
python3 - "$src/fixtures/state/modelpin.json" "$tmp/cfg/modelpin.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); d["plugins"] = {"load": ["libusage.so"]}
json.dump(d, open(sys.argv[2], "w"))
PY
out=$(cd / && "$exe" replay "$tmp/nextcall.txt" --config "$tmp/cfg/modelpin.json" --state "$(fresh)" 2>&1)
has "plugins.load relative to the config file" "Next call: anthropic/claude-opus-4-5" "$out"

# --- Refused at start: exit 1, the file named ---------------------------------------------------
refuse() {  # NAME NEEDLE ARGS...
  local name=$1 needle=$2; shift 2
  set +e; local err; err=$("$exe" replay "$tmp/nextcall.txt" --config "$tmp/state/modelpin.json" "$@" 2>&1 >/dev/null); local rc=$?; set -e
  [ $rc -eq 1 ] && ok "$name: exit 1" || bad "$name: exit $rc"
  has "$name: message" "$needle" "$err"
}
refuse "another ABI version" "$bad_abi: built for modelpin plugin ABI version 3; this modelpin loads ABI versions 1 and 2" --plugin "$bad_abi"
refuse "init failure" "$bad_init: plugin bad failed to start: license file /nonexistent/bad.lic not found" --plugin "$bad_init"
refuse "not a plugin" "$not_plugin: not a modelpin plugin (it exports no modelpin_plugin function)" --plugin "$not_plugin"
refuse "missing file" "$tmp/nope.so: cannot load plugin: no such file" --plugin "$tmp/nope.so"
refuse "a built-in word taken" "/model from $clash (plugin \"clash\") clashes with the built-in plugin \"model\"" --plugin "$clash"
refuse "the same file twice" "$bad: plugin file loaded twice (already loaded as $bad)" --plugin "$bad" --plugin "$bad"
ln -s "$(realpath "$bad")" "$tmp/libalias.so"
refuse "the same file under two names" "$tmp/libalias.so: plugin file loaded twice (already loaded as $bad)" \
  --plugin "$bad" --plugin "$tmp/libalias.so"
cp "$bad" "$tmp/libcopy.so"
refuse "another file of the same plugin name" \
  "plugin \"bad\" from $tmp/libcopy.so: the name \"bad\" is taken by plugin \"bad\" from $bad" --plugin "$bad" --plugin "$tmp/libcopy.so"

# Files checked before dlopen: a truncated shared object used to kill the process with SIGBUS
# inside dlopen; now it is refused with its name and exit 1, as is a file of another machine.
size=$(stat -c %s "$bad")
for keep in $((size / 2)) $((size - 1)) 4096 64; do
  head -c "$keep" "$bad" > "$tmp/trunc.so"
  refuse "truncated to $keep of $size bytes" "$tmp/trunc.so: cannot load plugin: truncated: its " --plugin "$tmp/trunc.so"
done
head -c 40 "$bad" > "$tmp/stub.so"
refuse "shorter than an ELF header" "$tmp/stub.so: cannot load plugin: truncated: 40 bytes, shorter than an ELF header" --plugin "$tmp/stub.so"
printf 'not a library\n' > "$tmp/text.so"
refuse "not ELF" "$tmp/text.so: cannot load plugin: not a shared library (14 bytes that do not start as an ELF file does)" --plugin "$tmp/text.so"
: > "$tmp/empty.so"
refuse "an empty file" "$tmp/empty.so: cannot load plugin: not a shared library (0 bytes" --plugin "$tmp/empty.so"
refuse "a folder" "$tmp: cannot load plugin: not a regular file" --plugin "$tmp"
patch() {  # patch OUT OFFSET BYTE...: a copy of libbad.so with bytes replaced
  local out=$1 offset=$2; shift 2
  python3 - "$bad" "$out" "$offset" "$@" <<'PY'
import sys
data = bytearray(open(sys.argv[1], "rb").read()); at = int(sys.argv[3])
for i, b in enumerate(sys.argv[4:]): data[at + i] = int(b)
open(sys.argv[2], "wb").write(data)
PY
}
patch "$tmp/class32.so" 4 1
refuse "a 32-bit ELF file" "$tmp/class32.so: cannot load plugin: an ELF file for 32-bit machines; this modelpin is 64-bit" --plugin "$tmp/class32.so"
patch "$tmp/bigendian.so" 5 2
refuse "the other byte order" "$tmp/bigendian.so: cannot load plugin: an ELF file of the other byte order" --plugin "$tmp/bigendian.so"
patch "$tmp/arm.so" 18 183 0
refuse "another machine" "$tmp/arm.so: cannot load plugin: built for another machine (ELF machine 183; this one is 62)" --plugin "$tmp/arm.so"
gcc -std=c99 -c -fPIC -I"$src/sdk" -o "$tmp/object.o" "$src/test/plugins/bad_plugin.c"
refuse "an object file" "$tmp/object.o: cannot load plugin: an ELF object file, not a shared library (build it with -shared -fPIC)" --plugin "$tmp/object.o"
# The next run, with the good file, is answered.
out=$("$exe" replay "$tmp/nextcall.txt" --state "$(fresh)" --plugin "$usage" 2>&1)
has "after the refusals the next run answers" "Next call: anthropic/claude-opus-4-5" "$out"

# Load order: built-in plugins, the embedder's (test/plugin_api_test.cc), the config's
# plugins.load, then --plugin; /commands lists commands in that order.
cp "$second" "$tmp/cfg/libsecond.so"
python3 - "$tmp/cfg/modelpin.json" "$tmp/cfg/order.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); d["plugins"] = {"load": ["libsecond.so"]}
json.dump(d, open(sys.argv[2], "w"))
PY
out=$(printf '/commands\n' > "$tmp/commands.txt"; "$exe" replay "$tmp/commands.txt" --config "$tmp/cfg/order.json" --state "$(fresh)" --plugin "$usage" 2>&1)
order=$(grep -oE '^  \| /(commands|second|nextcall) ' <<<"$out" | tr -d ' |' | tr '\n' ' ')
[ "$order" = "/commands /second /nextcall " ] && ok "load order: built-in, plugins.load, --plugin" ||
  bad "load order: built-in, plugins.load, --plugin: got \"$order\" from: $out"
set +e; "$exe" replay --plugin 2>/dev/null; rc=$?; set -e
[ $rc -eq 2 ] && ok "--plugin without a value: exit 2" || bad "--plugin without a value: exit $rc"

# --- What a plugin returns is checked; the session stays as it was ------------------------------
printf '%s\n' /fine /badutf8 /fine /huge /crowd /nextcall /outside /nextcall /decline /secret "/ok now" /seven /fine > "$tmp/bad.txt"
out=$("$exe" replay "$tmp/bad.txt" --state "$(fresh)" --plugin "$usage" --plugin "$bad" 2>&1)
has "a well-behaved call sees the route and its fields" "fine: claude-opus-4-5 via 2 profile(s), seen=unset" "$out"
has "invalid UTF-8: error reply" "Plugin bad failed: it returned a reply that is not valid UTF-8. Nothing was changed." "$out"
has "... and its field change was dropped" "seen=yes" "$out"
hasnt "... not stored" "seen=no" "$out"
has "oversized reply: error reply" "Plugin bad failed: it returned a reply longer than 16 KiB." "$out"
has "too many replies: error reply" "Plugin bad failed: it returned too many replies." "$out"
has "a field outside its namespace: error reply" 'Plugin bad failed: it returned a field key outside its namespace "bad."' "$out"
has "... and the other plugin's field is untouched" "Asked 2 times in this session." "$out"
hasnt "... never 99" "Asked 100" "$out"
has "a declined command is ordinary text" '"/decline"
REPLY: <none>
ROUTE' "$out"
has "owner-only command refused for others" "/secret is for owners only." "$out"
has "a return value other than 1 or 0: error reply naming the plugin" \
  "Plugin bad failed: it returned 7 from handle (expected 1 or 0). Nothing was changed." "$out"
hasnt "... its field change dropped" "seen=seven" "$out"
has "... and the next message is answered" '=== #13 INPUT "/fine"
REPLY[0]:
  | fine: claude-opus-4-5 via 2 profile(s), seen=yes' "$out"
has "an alias reaches its command" '"/ok now"
REPLY[0]:
  | fine:' "$out"

finish plugin_test
