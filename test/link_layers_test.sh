#!/usr/bin/env bash
# The layer libraries link only downward: no symbol a library needs (nm: undefined) is defined by
# a library of the same or a higher rank (a sibling or a layer above). Arguments: RANK:LIBRARY.a
# for each layer, e.g. 0:libmodelpin_base.a ... 3:libmodelpin_plugins.a 3:libmodelpin_replay.a.
# Before checking them it checks itself: with the plugins library ranked below the engine (which
# it uses), the check must fail.
set -euo pipefail

# Global symbols a library defines for real (code, data), not weak or inline copies.
defined() { nm -g --defined-only "$1" 2>/dev/null | awk 'NF == 3 && $2 ~ /^[TDBRSG]$/ {print $3}' | sort -u; }
needed() { nm -g --undefined-only "$1" 2>/dev/null | awk '$1 == "U" {print $2}' | sort -u; }

check() {  # RANK:LIB ...; prints a FAIL line per library pair, exit status 0 when there is none
  local bad=0 a b hits
  for a in "$@"; do
    for b in "$@"; do
      [ "$a" = "$b" ] && continue
      [ "${b%%:*}" -lt "${a%%:*}" ] && continue
      hits=$(comm -12 <(comm -23 <(needed "${a#*:}") <(defined "${a#*:}")) <(defined "${b#*:}"))
      if [ -n "$hits" ]; then
        echo "FAIL $(basename "${a#*:}") uses $(basename "${b#*:}"), which is not below it: $(echo "$hits" | head -3 | c++filt | tr '\n' ' ')"
        bad=$((bad + 1))
      fi
    done
  done
  [ "$bad" -eq 0 ]
}

engine=$(printf '%s\n' "$@" | sed -n 's/^[0-9]*://; /modelpin_engine/p')
plugins=$(printf '%s\n' "$@" | sed -n 's/^[0-9]*://; /modelpin_plugins/p')
if check "0:$plugins" "1:$engine" > /dev/null; then
  echo "FAIL self-check: plugins ranked below the engine passed"; exit 1
fi
echo "self-check: plugins ranked below the engine is refused"
check "$@"
echo "link layers: every library links only downward"
