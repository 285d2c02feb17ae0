"""The documented Python example runs exactly as printed (docs/python.md, and README.md when it
holds one), against stand-ins for the chat (`send`) and the model call (`call_model`)."""
import json
import os
import re
import shutil
import subprocess
import sys

import pathlib

import pytest

import modelpin
from conftest import FIXTURES, SOURCE_ROOT

MARK = "<!-- python-example -->"


def examples():
    """(file, code) of every block marked MARK: the ```python block right after the mark."""
    found = []
    for name in ("docs/python.md", "README.md"):
        path = SOURCE_ROOT / name
        if not path.exists():
            continue
        text = path.read_text()
        for m in re.finditer(re.escape(MARK) + r"\s*\n```python\n(.*?)\n```", text, re.S):
            found.append((name, m.group(1) + "\n"))
        if text.count(MARK) != len([f for f in found if f[0] == name]):
            pytest.fail(f"{name}: a {MARK} mark not followed by a ```python block")
    return found


def test_docs_hold_the_example():
    assert [f for f, _ in examples()].count("docs/python.md") == 1


# Runs in a child process with an environment of its own: the example reads credentials from the
# process environment, and the no-credential case must not see a developer's ANTHROPIC_API_KEY.
DRIVER = r"""
import json, sys
code, scenario = sys.argv[1], sys.argv[2]
sent, calls = [], []
answers = {"ok": ("ok", 0, "the model's answer"), "rate_limit": ("rate_limit", 30_000, "busy, try later")}
mode = ["ok"]

def send(chat_id, text):
    sent.append([chat_id, text])

def call_model(route, secret):
    calls.append({"provider": route.provider, "model": route.model, "profile": route.profiles[0],
                  "secret_prefix": secret[:10], "text": route.text})
    return answers[mode[0]]

env = {"send": send, "call_model": call_model, "__name__": "example"}
exec(compile(code, "example", "exec"), env)
on_message = env["on_message"]
steps = json.loads(scenario)
log = []
for step in steps:
    mode[0] = step.get("result", "ok")
    del sent[:], calls[:]
    on_message(step.get("chat", "chat-1"), "alice", step["text"])
    log.append({"sent": list(sent), "calls": list(calls)})
print(json.dumps(log))
"""


def run_example(code, cwd, steps):
    env = {k: v for k, v in os.environ.items() if k in ("LD_PRELOAD", "ASAN_OPTIONS", "PATH")}
    env["PYTHONPATH"] = str(pathlib.Path(modelpin.__file__).resolve().parents[1])  # the package under test
    env["HOME"] = str(cwd)
    proc = subprocess.run([sys.executable, "-c", DRIVER, code, json.dumps(steps)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("where,code", examples(), ids=lambda v: v if v.endswith(".md") else "")
def test_example_pins_calls_and_rotates(tmp_path, where, code):
    shutil.copytree(FIXTURES / "state", tmp_path / "state")
    log = run_example(code, tmp_path, [
        {"text": "/model sonnet"},
        {"text": "hello there"},
        {"text": "and again", "result": "rate_limit"},
        {"text": "once more"},
    ])
    pin, hello, limited, after = log
    assert pin["calls"] == [] and len(pin["sent"]) == 1 and "claude-sonnet-4-5" in pin["sent"][0][1]
    assert hello["sent"] == [["chat-1", "the model's answer"]]
    call = hello["calls"][0]
    assert (call["provider"], call["model"], call["text"]) == ("anthropic", "claude-sonnet-4-5", "hello there")
    assert call["secret_prefix"].startswith("sk-ant-")
    assert limited["sent"] == [["chat-1", "busy, try later"]]
    # The rate limit was recorded for that model of the profile: the next call on it goes to
    # another profile.
    assert after["calls"][0]["profile"] != limited["calls"][0]["profile"]
    usage = json.loads((tmp_path / "state/agents/main/agent/auth-profiles.json").read_text())["usageStats"]
    assert usage[limited["calls"][0]["profile"]]["modelCooldowns"]["anthropic/claude-sonnet-4-5"] > 0


@pytest.mark.parametrize("where,code", examples(), ids=lambda v: v if v.endswith(".md") else "")
def test_example_without_any_credential_says_what_to_do(tmp_path, where, code):
    (tmp_path / "state").mkdir()  # no config, no auth store, no .env; the environment has no keys
    log = run_example(code, tmp_path, [{"text": "hello"}, {"text": "/model status"}])
    hello, status = log
    assert hello["calls"] == []
    assert len(hello["sent"]) == 1
    told = hello["sent"][0][1]
    assert "No credential for anthropic" in told
    assert "ANTHROPIC_API_KEY" in told and "modelpin models auth paste-api-key --provider anthropic" in told
    # The next message is answered.
    assert status["sent"] and "anthropic/claude-opus-4-5" in status["sent"][0][1]
