#!/usr/bin/env bash
# Layers include only downward, never sideways:
#   sdk/ (alone: includes nothing of modelpin)
#   base/ <- grammar/ <- engine/ (with its sub-folders) <- plugins/, replay/, observe/ <- embed/
#     <- calls/ <- service/ (the HTTP service's library) <- cli/, python/, examples/, node/
# A layer may include its own headers and those of any layer below it; plugins/, replay/ and
# observe/ are siblings (none includes another), and so are the clients cli/, python/, examples/
# and node/.
# Inside engine/ the sub-folders are ranked the same way (docs/architecture.md, "The engine's inner
# layers"): events/ <- config/ <- models/ <- auth/ <- sessions/ <- turn/; a sub-folder includes its
# own headers and those of the sub-folders before it. A sub-folder missing from inner_rank fails.
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

declare -A inner_rank=([events]=0 [config]=1 [models]=2 [auth]=3 [sessions]=4 [turn]=5)

# check_engine DIR: the inner ranks of engine/; prints a FAIL line per bad include or unranked
# sub-folder.
check_engine() {
  local bad=0 sub theirs file inc mine their_rank
  [ -d "$1/engine" ] || return 0
  for sub in "$1"/engine/*/; do
    sub=${sub%/}
    sub=${sub##*/}
    if [ -z "${inner_rank[$sub]:-}" ]; then
      echo "FAIL engine/$sub has no inner rank (add it to inner_rank in test/layering_test.sh)"
      bad=$((bad + 1))
    fi
  done
  while IFS=: read -r file inc; do
    sub=${file#engine/}
    [ "$sub" = "${sub#*/}" ] && continue                # a file directly in engine/ (none today)
    sub=${sub%%/*}
    theirs=${inc#engine/}
    theirs=${theirs%%/*}
    [ "$theirs" = host_version.h ] && continue  # generated into the build dir by engine/meson.build
    mine=${inner_rank[$sub]:-9}
    their_rank=${inner_rank[$theirs]:-9}
    if [ "$theirs" != "$sub" ] && { [ "$their_rank" -gt "$mine" ] || [ "$their_rank" = 9 ]; }; then
      echo "FAIL $file includes $inc (engine/$theirs is not below engine/$sub)"
      bad=$((bad + 1))
    fi
  done < <(cd "$1" && grep -rHoE '^#include ("engine/[^"]*"|<modelpin/engine/[^>]*>)' engine |
           sed -E 's/:#include ["<]/:/; s/[">]$//; s#:modelpin/engine/#:engine/#')
  [ "$bad" -eq 0 ]
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
  check_engine "$1" || bad=$((bad + 1))
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
# The engine's inner ranks, on a copy of engine/ alone: config/ including auth/, models/ including
# turn/, events/ including config/ (each above it), auth/ including sessions/ (a later rank), and
# a new sub-folder without a rank.
self_check_engine() {  # FILE INCLUDE [angle]
  rm -rf "$tmp/copy" && mkdir "$tmp/copy" && cp -r "$src/engine" "$tmp/copy/"
  if [ "$1" = unranked ]; then
    mkdir -p "$tmp/copy/engine/newpart" && echo '#include "engine/config/config.h"' > "$tmp/copy/engine/newpart/x.cc"
    check_engine "$tmp/copy" > "$tmp/out" || true
    grep -q "^FAIL engine/newpart has no inner rank" "$tmp/out" || { echo "FAIL self-check: an unranked engine/newpart passed"; cat "$tmp/out"; exit 1; }
    echo "self-check: an unranked engine/newpart is refused"
    return
  fi
  if [ "${3:-}" = angle ]; then echo "#include <modelpin/$2>" >> "$tmp/copy/$1"; else echo "#include \"$2\"" >> "$tmp/copy/$1"; fi
  if check_engine "$tmp/copy" > "$tmp/out"; then
    echo "FAIL self-check: $1 including $2 passed"; exit 1
  fi
  grep -q "^FAIL $1 includes $2 " "$tmp/out" || { echo "FAIL self-check: $1 including $2 not named:"; cat "$tmp/out"; exit 1; }
  echo "self-check: $1 including $2 is refused"
}
self_check_engine engine/config/config.cc engine/auth/rotation.h
self_check_engine engine/models/resolver.h engine/turn/engine.h
self_check_engine engine/events/events.cc engine/config/config.h
self_check_engine engine/auth/auth_order.cc engine/sessions/session.h
self_check_engine engine/config/routes.cc engine/auth/auth_order.h angle
self_check_engine unranked
self_check base/text.cc engine/turn/engine.h angle
self_check plugins/builtin.cc replay/replay.h angle

check "$src"
echo "layering: every include points down"
