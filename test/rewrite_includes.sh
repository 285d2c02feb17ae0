#!/usr/bin/env bash
# Rewrites the project's own includes to the installed form: `#include "engine/turn/engine.h"`
# becomes `#include <modelpin/engine/turn/engine.h>`, and `"modelpin/plugin_v1.h"` becomes
# `<modelpin/plugin_v1.h>`, in the sources, tests, examples and the C++ blocks of README.md and
# docs/. Idempotent: a second run changes nothing. In the tree, <modelpin/...> resolves through the
# build dir's include/modelpin (meson.build); installed, through <includedir>/modelpin.
#   test/rewrite_includes.sh [SRC]          rewrite in place
#   test/rewrite_includes.sh --check [SRC]  list the lines still in the old form; exit 1 if any
set -euo pipefail
check=0
[ "${1:-}" = --check ] && { check=1; shift; }
src=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$src"
layers='base|grammar|engine|plugins|replay|observe|embed|calls|service|cli'
old="^([[:space:]]*#[[:space:]]*include[[:space:]]*)\"((${layers}|modelpin)/[^\"]+)\""
files() {
  find sdk base grammar engine plugins replay observe embed calls service cli python node/src test bench examples \
       -type f \( -name '*.h' -o -name '*.hpp' -o -name '*.cc' -o -name '*.cpp' -o -name '*.c' -o -name '*.h.in' \) \
       2>/dev/null
  ls README.md docs/*.md 2>/dev/null
}
if [ $check = 1 ]; then
  # engine/host_version.h is generated into the build dir, which <modelpin/...> does not reach.
  if files | xargs grep -nE "$old" /dev/null | grep -v 'engine/host_version\.h'; then exit 1; fi
  exit 0
fi
# "modelpin/x" first (the SDK's own form), then the layers.
files | xargs sed -i -E "/engine\/host_version\.h/!s@${old}@\\1<modelpin/\\2>@; s@<modelpin/modelpin/@<modelpin/@"
