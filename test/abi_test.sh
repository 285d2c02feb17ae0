#!/usr/bin/env bash
# The ABI check (docs/embedding.md, "API and ABI policy"): the built libmodelpin.so against the
# baseline of the last release stored in abi/ (abidw's abixml). Only the public API counts
# (test/abi_public.py: what the installed headers declare). The check fails when a public
# function or variable is removed or changed, including through a type it uses (a value type's
# field added, removed or moved), unless the soname changed; added functions pass.
# A self-check first builds small libraries that break their ABI and shows the check refuses them.
#   abi_test.sh LIB BUILD SRC CXX                    check
#   abi_test.sh --write-baseline LIB BUILD SRC CXX   (re)write abi/<soname>.abi from LIB, at release
set -euo pipefail
write=0
[ "${1:-}" = --write-baseline ] && { write=1; shift; }
lib=$1 build=$2 src=$3 cxx=$4
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

soname_of() { head -c 2000 "$1" | grep -o -m1 "soname=[\"'][^\"']*" | head -1 | cut -c9-; }
# public LIB OUT.abi INCLUDEDIR: the library's public ABI as abixml.
public() {
  # Types defined outside the installed headers (the standard library's, abseil's, internal
  # ones) are left out; a public type still records its size and each member's offset and type.
  abidw --headers-dir "$3" --drop-private-types --out-file "$tmp/raw.abi" "$1"
  python3 "$here/abi_public.py" "$tmp/raw.abi" "$2" "$3" 2>/dev/null
}
# check BASE.abi NEW.abi: exit 0 when NEW keeps BASE's ABI (or has another soname).
check() {
  local old new rc=0
  old=$(soname_of "$1") new=$(soname_of "$2")
  if [ "$old" != "$new" ]; then
    echo "soname changed from $old to $new: an incompatible change is allowed (write the new baseline at release)"
    return 0
  fi
  abidiff "$1" "$2" > "$tmp/report" || rc=$?
  if [ $((rc & 3)) -ne 0 ]; then echo "abidiff failed (exit $rc):"; cat "$tmp/report"; return 1; fi
  if grep -qE '(^|[^0-9])[1-9][0-9]* (Removed|Changed)' "$tmp/report"; then
    echo "incompatible ABI change with the same soname $new (bump abi_version in meson.build):"
    cat "$tmp/report"
    return 1
  fi
  [ -s "$tmp/report" ] && { echo "compatible ABI change:"; cat "$tmp/report"; }
  return 0
}

if [ $write = 0 ]; then
  # --- self-check: small libraries of namespace modelpin with one public header -----------------
  mkdir -p "$tmp/self/inc/modelpin/tiny"
  cat > "$tmp/self/inc/modelpin/tiny/tiny.h" <<'H'
namespace modelpin {
struct Value { int a;
#ifdef GROW
  long b;
#endif
};
int Read(const Value* v);
void Drop();
void Add();
}
H
  cat > "$tmp/self/tiny.cc" <<'C'
#include <modelpin/tiny/tiny.h>
namespace modelpin {
int Read(const Value* v) { return v->a; }
#ifndef DROP
void Drop() {}
#endif
#ifdef ADD
void Add() {}
#endif
#ifndef INTERNAL
int InternalHelper(int x) { return x + 1; }
#endif
}
C
  tiny() {  # NAME SONAME FLAGS...
    local n=$1 so=$2; shift 2
    "$cxx" -g -shared -fPIC -I"$tmp/self/inc" "$@" -Wl,-soname,"$so" -o "$tmp/self/lib$n.so" "$tmp/self/tiny.cc"
    public "$tmp/self/lib$n.so" "$tmp/self/$n.abi" "$tmp/self/inc"
  }
  tiny base libtiny.so.1
  expect() {  # NAME WANT(pass|fail) WHAT
    if check "$tmp/self/base.abi" "$tmp/self/$1.abi" > "$tmp/self/$1.out"; then got=pass; else got=fail; fi
    if [ $got != "$2" ]; then echo "FAIL self-check: $3: the check answered $got:"; cat "$tmp/self/$1.out"; exit 1; fi
    echo "self-check: $3: $got"
  }
  tiny grow libtiny.so.1 -DGROW;      expect grow fail "a public struct grew"
  tiny drop libtiny.so.1 -DDROP;      expect drop fail "a public function was removed"
  tiny add libtiny.so.1 -DADD;        expect add pass "a public function was added"
  tiny internal libtiny.so.1 -DINTERNAL; expect internal pass "an internal function was removed"
  tiny bumped libtiny.so.2 -DGROW -DDROP; expect bumped pass "a struct grew and a function went, with a new soname"
fi

# --- libmodelpin --------------------------------------------------------------------------------
meson install -C "$build" --destdir "$tmp/dest" --no-rebuild --quiet >/dev/null
inc=$(dirname "$(find "$tmp/dest" -type d -path '*/include/modelpin' | head -1)")
public "$lib" "$tmp/built.abi" "$inc"
if [ $write = 1 ]; then
  rm -f "$src"/abi/libmodelpin.so.*.abi
  mkdir -p "$src/abi"
  cp "$tmp/built.abi" "$src/abi/$(soname_of "$tmp/built.abi").abi"
  echo "wrote $src/abi/$(soname_of "$tmp/built.abi").abi"
  exit 0
fi
shopt -s nullglob
baselines=("$src"/abi/libmodelpin.so.*.abi)
[ ${#baselines[@]} -eq 1 ] || { echo "FAIL want one baseline abi/libmodelpin.so.N.abi, found ${#baselines[@]}"; exit 1; }
if check "${baselines[0]}" "$tmp/built.abi"; then
  echo "ok   $(basename "$lib") keeps the ABI of ${baselines[0]#"$src"/}"
else
  echo "FAIL $(basename "$lib") breaks the ABI of ${baselines[0]#"$src"/}"
  exit 1
fi
