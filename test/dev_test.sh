#!/usr/bin/env bash
# ./dev propagates every failure: a suite whose build fails is not run (no stale binary is
# tested), fails the run and counts in the closing line; a missing fuzz compiler is a failure, not
# a skip; a skipped test is printed with its reason. Most cases run a copy of `dev` against stub
# meson/ninja/dpkg-query so they take milliseconds; the last one breaks a real fuzz target in a
# temporary copy of the repository and runs `./dev fuzz` there.
# usage: dev_test.sh SOURCE_ROOT
set -uo pipefail
src=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/modelpin-dev-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# ---- stubs ----
mkdir -p "$tmp/bin"
cat > "$tmp/bin/dpkg-query" <<'SH'
#!/bin/sh
printf 'install ok installed'
SH
cat > "$tmp/bin/apt-get" <<'SH'
#!/bin/sh
echo "apt-get must not run: every package is installed" >&2; exit 1
SH
# npm: `npm ci` of the node package's dependencies, logged.
cat > "$tmp/bin/npm" <<'SH'
#!/usr/bin/env bash
echo "npm $*" >> "$STUB_LOG"
SH
cat > "$tmp/bin/clang++-stub" <<'SH'
#!/bin/sh
exit 0
SH
# meson: setup creates build.ninja (fails for $STUB_FAIL_SETUP); test writes a testlog.json with
# one OK result, or a SKIP with a reason for $STUB_SKIP_IN; every call is logged.
cat > "$tmp/bin/meson" <<'SH'
#!/usr/bin/env bash
echo "meson $*" >> "$STUB_LOG"
case "$1" in
  setup)
    [ "$2" = "${STUB_FAIL_SETUP:-}" ] && { echo "meson.build:1:0: ERROR: stub setup failure"; exit 1; }
    mkdir -p "$2" && touch "$2/build.ninja" ;;
  configure) ;;
  test)
    dir=$3; mkdir -p "$dir/meson-logs"
    if [ "$dir" = "${STUB_SKIP_IN:-}" ]; then
      echo '{"name": "needs-thing", "result": "SKIP", "stdout": "starting\nthing not installed here"}' > "$dir/meson-logs/testlog.json"
    else
      echo '{"name": "unit", "result": "OK", "stdout": ""}' > "$dir/meson-logs/testlog.json"
    fi ;;
esac
SH
# ninja: fails to build in $STUB_FAIL_BUILD; lists one fuzz target.
cat > "$tmp/bin/ninja" <<'SH'
#!/usr/bin/env bash
echo "ninja $*" >> "$STUB_LOG"
[ "$3" = "-t" ] && { echo "test/fuzz/grammar_fuzz: cpp_LINKER"; exit 0; }
[ "$2" = "${STUB_FAIL_BUILD:-}" ] && { echo "FAILED: stub compile error"; exit 1; }
exit 0
SH
chmod +x "$tmp/bin"/*

# run NAME [VAR=VALUE...]: runs a fresh copy of dev with the stubs; sets $out, $status, $log.
run() {
  local name=$1; shift
  local dir="$tmp/$name"
  mkdir -p "$dir"
  cp "$src/dev" "$dir/dev"
  log="$dir/calls.log"; : > "$log"
  out=$(cd "$dir" && env PATH="$tmp/bin:$PATH" STUB_LOG="$log" MODELPIN_FUZZ_CXX="$tmp/bin/clang++-stub" "$@" \
        ./dev test 2>&1)
  status=$?
}
closing() { printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' | tail -1; }

run ok
[ $status -eq 0 ] || fail "ok: exit $status"
[ "$(closing)" = "3 passed, 0 failed, 0 skipped" ] || fail "ok: closing line '$(closing)'"
for d in build build-asan build-fuzz; do
  grep -q "^meson test -C $d " "$log" || fail "ok: no suite ran in $d"
done

mkdir -p "$tmp/fuzzbreak/build-fuzz/test/fuzz"
echo stale > "$tmp/fuzzbreak/build-fuzz/test/fuzz/grammar_fuzz"
run fuzzbreak STUB_FAIL_BUILD=build-fuzz
[ $status -ne 0 ] || fail "fuzz build failure: exit 0"
grep -q "^meson test -C build-fuzz" "$log" && fail "fuzz build failure: the fuzz suite still ran"
[ -e "$tmp/fuzzbreak/build-fuzz/test/fuzz/grammar_fuzz" ] && fail "fuzz build failure: the old binary is still there"
[ "$(closing)" = "2 passed, 1 failed, 0 skipped" ] || fail "fuzz build failure: closing line '$(closing)'"
printf '%s\n' "$out" | grep -q "fuzz: a fuzz target failed to build" || fail "fuzz build failure: no reason printed"

run asanbreak STUB_FAIL_BUILD=build-asan
[ $status -ne 0 ] || fail "asan build failure: exit 0"
grep -q "^meson test -C build-asan" "$log" && fail "asan build failure: the asan suite still ran"
grep -q "^meson test -C build-fuzz" "$log" || fail "asan build failure: the other suites should still run"
[ "$(closing)" = "2 passed, 1 failed, 0 skipped" ] || fail "asan build failure: closing line '$(closing)'"

run setupbreak STUB_FAIL_SETUP=build
[ $status -ne 0 ] || fail "setup failure: exit 0"
printf '%s\n' "$out" | grep -q "stub setup failure" || fail "setup failure: meson's error not shown"

run noclang MODELPIN_FUZZ_CXX=/nonexistent/clang++-14
[ $status -ne 0 ] || fail "missing clang: exit 0 (a missing tool must fail, not skip)"
printf '%s\n' "$out" | grep -q "clang++-14 not found" || fail "missing clang: no reason printed"

run skip STUB_SKIP_IN=build-asan
[ $status -eq 0 ] || fail "skip: exit $status"
[ "$(closing)" = "2 passed, 0 failed, 1 skipped" ] || fail "skip: closing line '$(closing)'"
printf '%s\n' "$out" | grep -q "skipped build-asan: needs-thing: thing not installed here" || fail "skip: reason not printed"

# `./dev bench --baseline COMMIT`: a missing or unknown commit is a usage error (exit 2), found
# before anything is built.
out=$(cd "$tmp/ok" && env PATH="$tmp/bin:$PATH" STUB_LOG="$tmp/ok/calls.log" ./dev bench --baseline 2>&1); status=$?
[ $status -eq 2 ] || fail "bench --baseline without a commit: exit $status, not 2"
printf '%s\n' "$out" | grep -q "usage: ./dev bench \[--baseline COMMIT\]" || fail "bench --baseline: no usage printed"
out=$("$src/bench/baseline.sh" "$tmp" no-such-commit-xyz 2>&1); status=$?
[ $status -eq 2 ] || fail "bench/baseline.sh with an unknown commit: exit $status, not 2"
printf '%s\n' "$out" | grep -q "no-such-commit-xyz is not a commit" || fail "bench/baseline.sh: the bad commit is not named"
out=$("$src/bench/run.sh" "$tmp" --baseline 2>&1); status=$?
[ $status -eq 2 ] || fail "bench/run.sh --baseline without a commit: exit $status, not 2"

# ---- a real broken fuzz target in a temporary copy of the repository ----
if [ -n "${DEV_TEST_STUBS_ONLY:-}" ]; then
  echo "dev_test: DEV_TEST_STUBS_ONLY set: the real broken-build case was not run" >&2
  exit 77
fi
copy="$tmp/repo"
mkdir -p "$copy"
(cd "$src" && git ls-files -z 2>/dev/null | xargs -0 cp --parents -t "$copy") ||
  (cd "$src" && tar --exclude='./build*' --exclude=./.git -cf - . | tar -xf - -C "$copy")
printf '#error deliberately broken by dev_test\n' >> "$copy/test/fuzz/config_fuzz.cc"
out=$(cd "$copy" && ./dev fuzz 2>&1); status=$?
before=$failures
[ $status -ne 0 ] || fail "real broken fuzz target: ./dev fuzz exited 0"
printf '%s\n' "$out" | grep -q "deliberately broken by dev_test" || fail "real broken fuzz target: compiler error not shown"
printf '%s\n' "$out" | grep -q "fuzz: a fuzz target failed to build" || fail "real broken fuzz target: no reason printed"
printf '%s\n' "$out" | grep -q "_smoke" && fail "real broken fuzz target: a fuzz smoke test still ran"
[ $failures -eq $before ] || { echo "--- ./dev fuzz in the broken copy printed:"; printf '%s\n' "$out" | tail -40; }

[ $failures -eq 0 ] && echo "dev_test: all cases passed"
exit $((failures > 0))
