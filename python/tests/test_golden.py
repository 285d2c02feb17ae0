"""The golden transcripts replayed through Python equal the C++ replay (`modelpin replay --json`)."""
import json
import os
import subprocess

import pytest

import modelpin
from conftest import FIXTURES


def simulates(name):
    """Whether a transcript moves the clock or reports call outcomes (`//@ clock`, `//@ outcome`).

    The C++ replay runs those on a simulated clock and an in-memory copy of the auth stores; the
    Python API has neither (a bot reports outcomes to its real stores), so such transcripts are
    compared by the C++ replay test only."""
    text = (FIXTURES / "transcripts" / f"{name}.txt").read_text()
    return any(l.startswith(("//@ clock", "//@ outcome")) for l in text.splitlines())


def manifest():
    rows = []
    for line in (FIXTURES / "transcripts" / "manifest.tsv").read_text().splitlines():
        if line and not line.startswith("#"):
            name, config = line.split("\t")
            if not simulates(name):
                rows.append((name, config))
    return rows


WS = " \t\r\n\f\v"


def replay(engine, transcript):
    """modelpin's Replayer in Python: the same directive lines, the same per-step session map."""
    agent, sender = engine.resolve_agent(""), ""
    session = f"agent:{agent}:main"
    touched = []
    steps = []
    for raw in transcript.split("\n"):
        line = raw[:-1] if raw.endswith("\r") else raw
        if not line.strip(WS):
            continue
        if line.startswith("//@"):
            word, _, arg = line[3:].strip(WS).partition(" ")
            arg = arg.strip(WS)
            if word == "session":
                session = arg
            elif word == "agent":
                agent = engine.resolve_agent(arg)
                session = f"agent:{agent}:main"
            elif word == "sender":
                sender = arg
            continue
        if line.startswith("//"):
            continue
        out = engine.handle(line, session=session, agent=agent, sender=sender)
        if (agent, session) not in touched:
            touched.append((agent, session))
        sessions = {}
        for a, key in touched:
            state = out.session if (a, key) == (agent, session) else engine.session(key, agent=a)
            state.pop("thinkingLevel", None)  # modelpin's own field; replay --json prints OpenClaw's
            sessions[key] = state
        step = {
            "step": len(steps) + 1,
            "input": line,
            "replies": [{"text": r.text, **({"isError": True} if r.is_error else {})} for r in out.replies],
            "sessions": sessions,
        }
        if out.route:
            r = out.route
            step["route"] = {"text": r.text, "provider": r.provider, "model": r.model, "profiles": list(r.profiles)}
            if r.thinking:
                step["route"]["thinking"] = r.thinking
            if r.rule:
                step["route"]["rule"] = r.rule
        steps.append(step)
    return steps


def cxx_replay(cli, name, config):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "MODELPIN_STATE_DIR": str(FIXTURES / "state")}
    proc = subprocess.run(
        [cli, "replay", "--json", "--config", str(FIXTURES / config), str(FIXTURES / "transcripts" / f"{name}.txt")],
        env=env, capture_output=True, text=True, check=True)
    steps = [json.loads(line) for line in proc.stdout.splitlines()]
    for step in steps:
        # The replay's per-profile health of the route (`auth`) is replay output, not part of the
        # Route a bot gets.
        if "route" in step:
            step["route"].pop("auth", None)
    return steps


# The rotation part of a C++ route (replay.cc: each profile's state, the rest of the plan, the
# fallback) has no Python counterpart (Route carries text, provider, model, profiles, thinking, rule).
ROTATION_KEYS = ("auth", "plan", "fallbackFrom", "fallbackReason")


def simulates(transcript):
    """Whether a transcript sets the clock or reports outcomes: the C++ replay then simulates
    them in memory (Engine::Simulate), which the Python binding does not expose."""
    for line in transcript.split("\n"):
        words = line[3:].split() if line.startswith("//@") else []
        if words and words[0] in ("clock", "outcome"):
            return True
    return False


@pytest.mark.parametrize("name,config", manifest())
def test_python_replay_equals_cxx_replay(cli, name, config):
    transcript = (FIXTURES / "transcripts" / f"{name}.txt").read_text()
    if simulates(transcript):
        pytest.skip(f"{name} uses //@ clock or //@ outcome (simulation is not in the Python binding)")
    engine = modelpin.Engine(config=str(FIXTURES / config), state_dir=str(FIXTURES / "state"),
                             sessions=":memory:", environment={})
    ours = replay(engine, transcript)
    theirs = cxx_replay(cli, name, config)
    for step in theirs:
        for key in ROTATION_KEYS:
            step.get("route", {}).pop(key, None)
    assert len(ours) == len(theirs) > 0
    for a, b in zip(ours, theirs):
        assert a == b, f"{name} step {b['step']}: {b['input']}"


def test_manifest_is_not_empty():
    assert len(manifest()) >= 20
