# Sourced by test/plugin_test.sh and test/plugin_v2_test.sh (not run alone): what both start with
# and count with. A private temp folder $tmp (removed on exit) is HOME; the clock is pinned; no
# provider key, state folder or config comes from the caller's environment.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export MODELPIN_NOW_MS=1800000000000 HOME=$tmp
unset MODELPIN_STATE_DIR MODELPIN_CONFIG ANTHROPIC_API_KEY OPENROUTER_API_KEY OPENAI_API_KEY
passed=0 failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failed=$((failed + 1)); }
# has NAME NEEDLE HAYSTACK: ok when HAYSTACK contains NEEDLE; else FAIL and the first 60 lines.
has() { if [[ "$3" == *"$2"* ]]; then ok "$1"; else bad "$1: no \"$2\" in:"; printf '%s\n' "$3" | head -60; fi; }
hasnt() { if [[ "$3" != *"$2"* ]]; then ok "$1"; else bad "$1: \"$2\" in:"; printf '%s\n' "$3" | head -60; fi; }
# finish NAME: the counts; the exit status is the test's (1 when a check failed).
finish() {
  echo "$1: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}
