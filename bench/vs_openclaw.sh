#!/usr/bin/env bash
# Replays one transcript through OpenClaw (the oracle harness, real OpenClaw 2026.9.6 on Node 24)
# and through modelpin, in one run, and prints the per-message median of each and their ratio.
#
#   bench/vs_openclaw.sh [TRANSCRIPT] [ORACLE_DIR]
#     TRANSCRIPT  default fixtures/transcripts/demo.txt
#     ORACLE_DIR  directory holding the oracle's run.sh (default ../shared/oracle); the oracle
#                 installs OpenClaw from the npm registry on first use
#
# OpenClaw's time per message comes from the oracle's stderr ("[oracle] #N ... X ms"): the time
# of its reply pipeline for that message, in process. modelpin's comes from `replay --timing`:
# Engine::Handle for that message, in process. Messages that reach OpenClaw's agent (which fails
# offline after a model-call attempt) are left out of both medians, so both sides time the same
# command handling.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
transcript=$(realpath "${1:-$root/fixtures/transcripts/demo.txt}")
oracle=$(realpath "${2:-$root/../shared/oracle}")
[ -x "$oracle/run.sh" ] || { echo "vs_openclaw: no oracle at $oracle (pass ORACLE_DIR)" >&2; exit 2; }
build="$root/build-release"
[ -f "$build/build.ninja" ] || meson setup "$build" -Dbuildtype=release >/dev/null
ninja -C "$build" cli/modelpin >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "vs_openclaw: OpenClaw replay of $(basename "$transcript") (a minute or two on first use)..." >&2
(cd "$oracle" && ./run.sh "$transcript" --json > "$tmp/oracle.jsonl" 2> "$tmp/oracle.err")
MODELPIN_STATE_DIR="$root/fixtures/state" "$build/cli/modelpin" replay "$transcript" --json --timing \
  > "$tmp/modelpin.jsonl" 2> "$tmp/modelpin.err"

python3 - "$tmp" <<'PY'
import json, re, statistics, sys
tmp = sys.argv[1]
oracle_steps = [json.loads(l) for l in open(f"{tmp}/oracle.jsonl") if l.strip()]
agent_steps = {i + 1 for i, s in enumerate(oracle_steps) if any(m.get("role") == "user" for m in s.get("agentTranscript") or [])}
oc = {int(m.group(1)): float(m.group(2)) * 1000 for m in re.finditer(r"\[oracle\] #(\d+) .* (\d+) ms", open(f"{tmp}/oracle.err").read())}
mp = {int(m.group(1)): float(m.group(2)) for m in re.finditer(r"\[modelpin\] #(\d+) ([0-9.e+-]+) us", open(f"{tmp}/modelpin.err").read())}
steps = sorted(s for s in oc if s in mp and s not in agent_steps)
if not steps:
    sys.exit("vs_openclaw: no comparable steps")
o = statistics.median(oc[s] for s in steps)
m = statistics.median(mp[s] for s in steps)
print(f"messages compared: {len(steps)} (left out: {len(agent_steps)} that reached OpenClaw's agent)")
print(f"| implementation | median per message |")
print(f"|---|---|")
print(f"| OpenClaw 2026.9.6 (Node 24, oracle harness) | {o:,.0f} us |")
print(f"| modelpin (release build) | {m:,.1f} us |")
print(f"| ratio | {o / m:,.0f}x |")
PY
