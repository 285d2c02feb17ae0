"""The type stubs (modelpin/__init__.pyi) match the built module (mypy's stubtest), and mypy
accepts a bot that uses every call as documented and rejects misuse. Run outside the source tree,
against the package in the build tree (PYTHONPATH)."""
import os
import pathlib
import subprocess
import sys

import pytest


def mypy_env(tmp_path):
    env = dict(os.environ)
    env["MYPYPATH"] = env.get("PYTHONPATH", "")
    env["MYPY_CACHE_DIR"] = str(tmp_path / "mypy-cache")
    return env


def test_stubs_match_the_built_module(tmp_path):
    allowlist = pathlib.Path(__file__).with_name("stubtest_allowlist.txt")
    proc = subprocess.run([sys.executable, "-m", "mypy.stubtest", "modelpin", "--allowlist", str(allowlist)], cwd=tmp_path,
                          env=mypy_env(tmp_path), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr


BOT = '''
import modelpin
from typing import Any, Dict, List, Optional

engine = modelpin.Engine(state_dir="state", environment={})
out: modelpin.Outcome = engine.handle("hello", session="s", agent="main", sender="alice")
texts: List[str] = [r.text for r in out.replies if not r.is_error]
model = out.session.get("modelOverride")  # a property: a dict, not a method
if out.route:
    route: modelpin.Route = out.route
    first: List[str] = route.profiles
    why: str = route.missing_credential + route.fallback_from + route.fallback_reason + route.rule
    later: List[modelpin.RouteCandidate] = route.plan
    engine.report_outcome(out.agent, out.session_key, first[0], "rate_limit", retry_after_ms=30_000,
                          model=f"{route.provider}/{route.model}")
    engine.report_outcome(out.agent, out.session_key, first[0], "model_not_found")
    secret: str = engine.secret_for(out.agent, first[0])
health: List[modelpin.AuthProfile] = engine.auth_profiles(provider="anthropic")
until: Optional[int] = health[0].until
keys: List[str] = engine.session_keys(agent="main")
entry: Dict[str, Any] = engine.session_entry("s")
text: str = engine.explain("sonnet", session="s")
tree: Dict[str, Any] = engine.explain_json("sonnet")
agent: str = engine.resolve_agent("")
try:
    modelpin.Engine(config="nope.json")
except modelpin.Error as e:
    message: str = str(e)
'''

MISUSE = [
    ('out = modelpin.Engine().handle("x")\nout.session()', "not callable"),
    ('modelpin.Engine().report_outcome("a", "s", "p", "slow")', "report_outcome"),
    ('modelpin.Engine().report_outcome("a", "s", "p", "ok", retry_after_ms="30s")', "retry_after_ms"),
    ('modelpin.Engine().handle("x").resolve_agent("a")', "resolve_agent"),
]


def mypy(tmp_path, code):
    (tmp_path / "bot.py").write_text(code)
    return subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "bot.py"], cwd=tmp_path,
                          env=mypy_env(tmp_path), capture_output=True, text=True, timeout=600)


def test_mypy_accepts_a_bot_that_uses_every_call(tmp_path):
    proc = mypy(tmp_path, BOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("code,needle", MISUSE)
def test_mypy_rejects_misuse(tmp_path, code, needle):
    proc = mypy(tmp_path, "import modelpin\n" + code + "\n")
    assert proc.returncode == 1 and needle in proc.stdout, proc.stdout + proc.stderr
