#!/usr/bin/env bash
# The installed C++ API as a consumer sees it (docs/embedding.md, "API and ABI policy"): meson
# installs into a temporary DESTDIR; modelpin.pc puts only <includedir> on the include path (no
# <includedir>/modelpin, where a consumer's own base/ or engine/ would shadow modelpin's); every
# installed header compiles alone with that path, included as <modelpin/...> (test/embed_test.sh
# builds examples/embed on it). Before that, a self-check: a header that includes another the old
# way ("base/clock.h") must fail to compile on that path.
#   installed_headers_test.sh BUILD CXX
set -euo pipefail
build=$1 cxx=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failed=$((failed + 1)); }

meson install -C "$build" --destdir "$tmp/dest" --no-rebuild --quiet >/dev/null
f=$(find "$tmp/dest" -name modelpin.pc | head -1)
[ -n "$f" ] || { echo "FAIL modelpin.pc not installed"; exit 1; }
prefix=$(sed -n 's/^prefix=//p' "$f")
mkdir -p "$tmp/pc"
sed "s|^prefix=.*|prefix=$tmp/dest$prefix|" "$f" > "$tmp/pc/modelpin.pc"
export PKG_CONFIG_PATH="$tmp/pc"
inc=$(sed -n 's/^includedir=//p' "$tmp/pc/modelpin.pc")
inc=${inc//\$\{prefix\}/$tmp/dest$prefix}
[ -d "$inc/modelpin" ] || { echo "FAIL no $inc/modelpin"; exit 1; }
cflags=$(pkg-config --cflags modelpin)

# modelpin.pc: -I<includedir>, never -I<includedir>/modelpin.
if [[ " $cflags " == *" -I$inc/modelpin "* ]]; then bad "modelpin.pc adds -I<includedir>/modelpin: $cflags"
else ok "modelpin.pc puts only <includedir> on the include path"; fi

compile() {  # HEADER-UNDER-INC: one C++ translation unit that includes just it (plugin_test checks C99)
  echo "#include <$1>" | "$cxx" -x c++ -std=c++20 -fsyntax-only -Wall -Wextra -Werror $cflags - 2>"$tmp/err"
}

# Self-check: a header written the old way must not compile with -I<includedir> alone.
mkdir -p "$tmp/self/modelpin/x"
printf '#include "base/clock.h"\n' > "$tmp/self/modelpin/x/old.h"
if echo '#include <modelpin/x/old.h>' | "$cxx" -x c++ -std=c++20 -fsyntax-only $cflags -I"$tmp/self" - 2>/dev/null; then
  echo "FAIL self-check: a header including \"base/clock.h\" compiled on <includedir> alone"; exit 1
fi
printf '#include <modelpin/base/clock.h>\n' > "$tmp/self/modelpin/x/new.h"
if ! echo '#include <modelpin/x/new.h>' | "$cxx" -x c++ -std=c++20 -fsyntax-only $cflags -I"$tmp/self" - 2>"$tmp/err"; then
  echo "FAIL self-check: a header including <modelpin/base/clock.h> did not compile:"; cat "$tmp/err"; exit 1
fi
echo "self-check: the old include form is refused, the installed one accepted"

n=0
while IFS= read -r h; do
  n=$((n + 1))
  if compile "$h"; then ok "<$h> compiles alone"; else bad "<$h> does not compile alone:"; head -5 "$tmp/err"; fi
done < <(cd "$inc" && find modelpin -type f \( -name '*.h' -o -name '*.hpp' \) | sort)
[ "$n" -ge 20 ] && ok "$n installed headers checked" || bad "only $n installed headers found"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
