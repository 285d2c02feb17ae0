#!/usr/bin/env python3
"""The rotation timeline and the replay progress line, through the real CLI.

    timeline_test.py MODELPIN SOURCE_ROOT

1. `replay T --timeline out.svg` for two rotation fixtures is compared with the golden SVGs in
   fixtures/timeline/ by structure, not bytes: the lanes in order, every call (profile, time,
   outcome, fallback), every cooldown/disabled window (profile, kind, from, until), and that each
   mark lies inside the plot. A self-check proves the comparison fails when a call is missing.
2. The SVG is well-formed and accessible (title, desc), the time axis labels increase.
3. A replay whose stderr is a terminal shows a progress line (lines, lines/s, elapsed, ETA);
   the same replay into a pipe writes nothing to stderr.
Regenerate the goldens after a reviewed change with MODELPIN_UPDATE_GOLDEN=1.
"""
import os
import pty
import select
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

CLI, SRC = sys.argv[1], sys.argv[2]
NS = "{http://www.w3.org/2000/svg}"
CASES = [("rotation-429", "config/rotation.json"), ("rotation-billing", "config/rotation.json")]
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


def structure(svg_text):
    root = ET.fromstring(svg_text)
    lanes = [t.get("data-profile") for t in root.iter(NS + "text") if t.get("class") == "lane-label"]
    calls, windows = [], []
    for c in root.iter(NS + "circle"):
        cls = (c.get("class") or "").split()
        if "call" in cls:
            calls.append((c.get("data-profile"), c.get("data-at"), c.get("data-outcome"),
                          c.get("data-fallback-from") or ""))
    for r in root.iter(NS + "rect"):
        cls = (r.get("class") or "").split()
        if "window" in cls:
            windows.append((r.get("data-profile"), r.get("data-kind"), r.get("data-from"), r.get("data-until")))
    return {"lanes": lanes, "calls": calls, "windows": windows}


def geometry_ok(name, svg_text):
    root = ET.fromstring(svg_text)
    width = float(root.get("width"))
    if root.find(NS + "title") is None or root.find(NS + "desc") is None:
        fail(f"{name}: no <title>/<desc> for screen readers")
    for c in root.iter(NS + "circle"):
        if "call" in (c.get("class") or "").split():
            x = float(c.get("cx"))
            if not 200 <= x <= width:
                fail(f"{name}: call mark at x={x} is outside the plot")
    ticks = [t.text for t in root.iter(NS + "text") if t.get("class") == "tick-label"]
    if len(ticks) < 2 or ticks != sorted(ticks):
        fail(f"{name}: time axis labels missing or out of order: {ticks}")


def render(name, config):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "t.svg")
        env = dict(os.environ, MODELPIN_STATE_DIR=os.path.join(SRC, "fixtures", "state"))
        r = subprocess.run([CLI, "replay", os.path.join(SRC, "fixtures", "transcripts", name + ".txt"),
                            "--config", os.path.join(SRC, "fixtures", config), "--timeline", out],
                           capture_output=True, text=True, env=env)
        if r.returncode != 0:
            fail(f"{name}: replay --timeline exited {r.returncode}: {r.stderr.strip()}")
            return None
        return open(out).read()


for name, config in CASES:
    svg = render(name, config)
    if svg is None:
        continue
    golden_path = os.path.join(SRC, "fixtures", "timeline", name + ".svg")
    if os.environ.get("MODELPIN_UPDATE_GOLDEN"):
        open(golden_path, "w").write(svg)
    golden = structure(open(golden_path).read())
    got = structure(svg)
    if not got["calls"] or not got["windows"]:
        fail(f"{name}: the timeline has no calls or no windows: {got}")
    for key in ("lanes", "calls", "windows"):
        if got[key] != golden[key]:
            fail(f"{name}: {key} differ from {golden_path}:\n  want {golden[key]}\n  got  {got[key]}")
    geometry_ok(name, svg)
    # Self-check: the comparison sees a missing call.
    root = ET.fromstring(svg)
    for g in root.iter(NS + "g"):
        calls = [c for c in g if "call" in (c.get("class") or "").split()]
        if calls:
            g.remove(calls[0])
            break
    if structure(ET.tostring(root, encoding="unicode"))["calls"] == golden["calls"]:
        fail(f"{name}: self-check: removing a call went unnoticed")

# What a call on a 429 looks like: the rotation-429 fixture's second message is rate limited.
svg = render("rotation-429", "config/rotation.json")
if svg is not None:
    s = structure(svg)
    if not any(o == "rate_limit" for _, _, o, _ in s["calls"]):
        fail("rotation-429: no rate_limit mark")
    if not any(f for _, _, _, f in s["calls"]):
        fail("rotation-429: the fallback call is not marked")

# The progress line: shown on a terminal, silent into a pipe.
with tempfile.TemporaryDirectory() as tmp:
    transcript = os.path.join(tmp, "big.txt")
    subprocess.run([sys.executable, os.path.join(SRC, "bench", "gen_transcript.py"), "--lines", "300000",
                    "--seed", "3", "--out", transcript], check=True)
    env = dict(os.environ, MODELPIN_STATE_DIR=os.path.join(SRC, "fixtures", "state"))
    args = [CLI, "replay", transcript, "--session-view", "current"]
    piped = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    if piped.returncode != 0 or piped.stderr:
        fail(f"replay into a pipe: exit {piped.returncode}, stderr {piped.stderr[:200]!r} (want nothing)")
    master, slave = pty.openpty()
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=slave, env=env)
    os.close(slave)
    seen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    p.wait()
    os.close(master)
    text = seen.decode(errors="replace")
    if p.returncode != 0:
        fail(f"replay on a terminal exited {p.returncode}")
    for want in ("[modelpin] replay ", "/300,000 lines", "lines/s", "ETA"):
        if want not in text:
            fail(f"progress line on a terminal lacks {want!r}: {text[-300:]!r}")
    if not text.endswith("\r\x1b[K"):
        fail(f"the progress line is not cleared at the end: {text[-40:]!r}")

if failures:
    print(f"timeline_test: {len(failures)} failure(s)")
    sys.exit(1)
print("timeline_test: goldens match, progress line shown on a terminal only")
