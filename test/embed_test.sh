#!/usr/bin/env bash
# Installs modelpin into a scratch destdir, builds examples/embed against the installed
# pkg-config file alone (no source tree include paths), and runs it on the fixture state.
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
meson install -C "$build" --destdir "$tmp/dest" --no-rebuild --quiet >/dev/null
pc=$(find "$tmp/dest" -name modelpin.pc | head -1)
[ -n "$pc" ] || { echo "FAIL: no modelpin.pc installed"; exit 1; }
# Relocate the installed .pc to the destdir, as a packager would.
mkdir -p "$tmp/pc"
prefix=$(sed -n 's/^prefix=//p' "$pc")
sed "s|^prefix=.*|prefix=$tmp/dest$prefix|" "$pc" > "$tmp/pc/modelpin.pc"
export PKG_CONFIG_PATH="$tmp/pc"
flags=$(pkg-config --cflags --libs modelpin)
libdir=$(pkg-config --variable=libdir modelpin)
# A sanitized library needs a sanitized consumer (the ASan runtime must come first).
sanitize=$(meson introspect --buildoptions "$build" |
  python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="b_sanitize"))')
extra=()
[ "$sanitize" = none ] || extra=("-fsanitize=$sanitize")
g++ -std=c++20 "${extra[@]}" -o "$tmp/embed" "$src/examples/embed/main.cc" $flags -Wl,-rpath,"$libdir"
out=$("$tmp/embed" "$src/fixtures/state" "/model opus@anthropic:work" "hello there")
expected="reply: Session model reset to configured default (opus (anthropic/claude-opus-4-5)). Auth profile set to anthropic:work.
route: anthropic/claude-opus-4-5 via anthropic:work anthropic:default"
if [ "$out" != "$expected" ]; then
  printf 'FAIL: embed printed:\n%s\nexpected:\n%s\n' "$out" "$expected"
  exit 1
fi
echo "ok: examples/embed built from the installed pkg-config file and replied as expected"
