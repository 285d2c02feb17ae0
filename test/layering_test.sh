#!/usr/bin/env bash
# Layers include only downward, never sideways:
#   sdk/ (alone: includes nothing of modelpin)
#   base/ <- grammar/ <- engine/ (with its sub-folders) <- plugins/, replay/, observe/ <- embed/
#     <- calls/ <- service/ (the HTTP service's library) <- cli/, python/, examples/, node/
# A layer may include its own headers and those of any layer below it; plugins/, replay/ and
# observe/ are siblings (none includes another), and so are the clients cli/, python/, examples/
# and node/.
# Both include forms count: "engine/turn/engine.h" and <modelpin/engine/turn/engine.h> (the form
# test/rewrite_includes.sh writes; <modelpin/plugin_v1.h> and the like are sdk/).
# Fails naming each file that includes a higher (or sibling) layer. Before checking the tree it
# checks itself: a copy with one bad include must fail.
set -euo pipefail
src=$1
layers="sdk base grammar engine plugins replay observe embed calls service cli python examples node"
rank() {
  case $1 in
    sdk) echo 0 ;; base) echo 1 ;; grammar) echo 2 ;; engine) echo 3 ;; plugins | replay | observe) echo 4 ;;
    embed) echo 5 ;; calls) echo 6 ;; service) echo 7 ;; cli | python | examples | node) echo 8 ;; *) echo 9 ;;
  esac
}

# check DIR: prints a FAIL line per bad include; exit status 0 when there is none.
check() {
  local bad=0 layer mine file inc top theirs
  for layer in $layers; do
    [ -d "$1/$layer" ] || continue
    mine=$(rank "$layer")
    while IFS=: read -r file inc; do
      top=${inc%%/*}
      [ "$top" = modelpin ] && top=sdk
      theirs=$(rank "$top")
      [ "$theirs" = 9 ] && continue                    # third-party (absl/, rapidjson/, ...) or local
      [ "$top" = "$layer" ] && [ "$layer" != sdk ] && continue
      if [ "$layer" = sdk ] || [ "$theirs" -ge "$mine" ]; then
        echo "FAIL $file includes $inc (layer $top is not below $layer)"
        bad=$((bad + 1))
      fi
    done < <(cd "$1" && grep -rHoE '^#include ("[^"]*"|<modelpin/[^>]*>)' "$layer" | sed -E 's/:#include ["<]/:/; s/[">]$//' |
             sed -E "s#:modelpin/(${layers// /|})/#:\\1/#" |
             awk -F: '!($1 ~ "^sdk/" && $2 ~ "^modelpin/")')
  done
  [ "$bad" -eq 0 ]
}

# Self-check on a scratch copy: a base/ file including the engine, and plugins/ including replay/
# (a sibling), must each be reported.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
self_check() {  # FILE INCLUDE [angle]
  rm -rf "$tmp/copy" && mkdir "$tmp/copy"
  for layer in $layers; do [ -d "$src/$layer" ] && cp -r "$src/$layer" "$tmp/copy/"; done
  if [ "${3:-}" = angle ]; then echo "#include <modelpin/$2>" >> "$tmp/copy/$1"; else echo "#include \"$2\"" >> "$tmp/copy/$1"; fi
  if check "$tmp/copy" > "$tmp/out"; then
    echo "FAIL self-check: $1 including $2 passed"; exit 1
  fi
  grep -q "^FAIL $1 includes $2 " "$tmp/out" || { echo "FAIL self-check: $1 including $2 not named:"; cat "$tmp/out"; exit 1; }
  echo "self-check: $1 including $2 is refused"
}
self_check base/text.cc engine/turn/engine.h
self_check plugins/builtin.cc replay/replay.h
self_check engine/auth/auth_store.cc plugins/builtin.h
self_check embed/open.cc cli/cli.h
self_check service/api.cc cli/cli.h
self_check observe/metrics.cc plugins/builtin.h
self_check embed/open.cc calls/chat.h
self_check base/text.cc engine/turn/engine.h angle
self_check plugins/builtin.cc replay/replay.h angle

check "$src"
echo "layering: every include points down"
