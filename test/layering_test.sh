#!/usr/bin/env bash
# Layers include only downward: grammar/ <- engine/ <- plugins/ <- cli/, and sdk/ includes
# nothing of modelpin. Fails naming each file that includes a higher layer.
set -euo pipefail
src=$1
cd "$src"
rank() { case $1 in sdk) echo 0 ;; grammar) echo 1 ;; engine) echo 2 ;; plugins) echo 3 ;; cli) echo 4 ;; *) echo 9 ;; esac; }
bad=0
for layer in sdk grammar engine plugins cli; do
  mine=$(rank "$layer")
  while IFS=: read -r file inc; do
    top=${inc%%/*}
    [ "$top" = modelpin ] && top=sdk
    theirs=$(rank "$top")
    [ "$theirs" = 9 ] && continue                      # third-party (absl/, rapidjson/, ...)
    if [ "$layer" = sdk ] || [ "$theirs" -gt "$mine" ]; then
      echo "FAIL $file includes $inc (layer $top is above $layer)"
      bad=$((bad + 1))
    fi
  done < <(grep -rHo '^#include "[^"]*"' "$layer" | sed 's/:#include "/:/; s/"$//' |
           awk -F: -v l="$layer" '!($1 ~ "^sdk/" && $2 ~ "^modelpin/")')
done
[ "$bad" -eq 0 ] && echo "layering: every include points down"
[ "$bad" -eq 0 ]
