"""The Python API: handle, report_outcome, secret_for, errors and threads."""
import json
import subprocess
import threading
import time

import pytest

import modelpin
from conftest import FIXTURES


def engine_on(state, **kwargs):
    return modelpin.Engine(state_dir=str(state), environment={}, **kwargs)


def test_pin_then_ordinary_message_routes_to_the_pinned_profile(state):
    engine = engine_on(state)
    out = engine.handle("/model opus@anthropic:work", session="chat-42", agent="main", sender="alice")
    assert out.replies == [modelpin.Reply(
        "Session model reset to configured default (opus (anthropic/claude-opus-4-5)). "
        "Auth profile set to anthropic:work.")]
    assert out.route is None
    assert out.session["authProfileOverride"] == "anthropic:work"
    assert out.session["authProfileOverrideSource"] == "user"
    out = engine.handle("hello there", session="chat-42", agent="main")
    assert out.replies == []
    assert (out.route.provider, out.route.model) == ("anthropic", "claude-opus-4-5")
    assert out.route.profiles == ["anthropic:work", "anthropic:default"]
    assert out.route.text == "hello there"
    assert out.route.thinking == ""
    assert out.session_key == "chat-42" and out.agent == "main"


def test_outcomes_stay_independent_when_their_buffers_are_recycled(state):
    engine = engine_on(state, sessions=":memory:")
    first = engine.handle("/model sonnet", session="a")
    second = engine.handle("hello", session="a")
    assert first.replies and first.route is None
    assert second.replies == [] and second.route.model == "claude-sonnet-4-5"
    del first
    third = engine.handle("hello again", session="a")  # may refill the first outcome's buffers
    assert third.replies == [] and third.route.text == "hello again"
    assert second.route.text == "hello"
    assert third.session == second.session and third.session["modelOverride"] == "claude-sonnet-4-5"


def test_sessions_persist_in_the_state_dir(state):
    engine_on(state).handle("/model sonnet", session="chat-1")
    again = engine_on(state)
    assert again.session("chat-1")["modelOverride"] == "claude-sonnet-4-5"
    assert (state / "sessions.sqlite").exists()


def test_rate_limit_rotates_to_the_next_profile(state):
    engine = engine_on(state)
    first = engine.handle("hello", session="s").route.profiles
    engine.report_outcome("main", "s", first[0], "rate_limit")
    second = engine.handle("hello", session="s").route.profiles
    assert second[0] != first[0] and first[0] in second
    usage = json.loads((state / "agents/main/agent/auth-profiles.json").read_text())["usageStats"]
    assert usage[first[0]]["cooldownUntil"] > 0


def test_reported_limits_are_kept_and_a_probe_reenables_a_disabled_profile(state):
    engine = engine_on(state)
    engine.report_outcome("main", "s", "anthropic:work", "ok",
                          limits={"requests": {"limit": 100, "remaining": 12}, "tokens": {"limit": 80000, "remaining": 5000}})
    path = state / "agents/main/agent/auth-profiles.json"
    usage = json.loads(path.read_text())["usageStats"]["anthropic:work"]
    assert usage["limits"]["requests"] == {"limit": 100, "remaining": 12}
    engine.report_outcome("main", "s", "anthropic:work", "billing")
    engine.report_outcome("main", "", "anthropic:work", "billing", probe=True)  # keeps it out
    usage = json.loads(path.read_text())["usageStats"]["anthropic:work"]
    assert usage["disabledUntil"] > 0 and usage["probeFailures"] == 1
    engine.report_outcome("main", "", "anthropic:work", "ok", probe=True)
    usage = json.loads(path.read_text())["usageStats"]["anthropic:work"]
    assert "disabledUntil" not in usage and "probeFailures" not in usage
    with pytest.raises(ValueError, match="calls"):
        engine.report_outcome("main", "s", "anthropic:work", "ok", limits={"calls": {"limit": 1, "remaining": 1}})
    with pytest.raises(ValueError, match="remaining from 0 to limit"):
        engine.report_outcome("main", "s", "anthropic:work", "ok", limits={"requests": {"limit": 1, "remaining": 2}})
    assert engine.handle("hello", session="s").route is not None  # answered after the errors


def test_report_outcome_rejects_an_unknown_result(state):
    with pytest.raises(ValueError, match="rate_limit"):
        engine_on(state).report_outcome("main", "s", "anthropic:work", "slow")


def test_secret_for_returns_the_stored_secret(state):
    engine = engine_on(state)
    assert engine.secret_for("main", "anthropic:work").startswith("sk-ant-oat01-BBBB")
    with pytest.raises(modelpin.Error):
        engine.secret_for("main", "anthropic:nosuch")


def test_refused_command_is_a_reply_not_an_exception(state):
    out = engine_on(state).handle("/model opus@openrouter:default", session="s")
    assert len(out.replies) == 1 and out.replies[0].is_error


@pytest.mark.parametrize("bad", ["config-missing-comma.json", "config-primary-number.json", "config-truncated.json"])
def test_config_errors_raise_error_with_the_cli_message(cli, tmp_path, bad):
    path = str(FIXTURES / "bad" / bad)
    with pytest.raises(modelpin.Error) as err:
        modelpin.Engine(config=path, state_dir=str(tmp_path))
    proc = subprocess.run([cli, "models", "status", "--config", path, "--state", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"modelpin: {err.value}"
    assert path in str(err.value)


def test_missing_config_names_the_file(tmp_path):
    with pytest.raises(modelpin.Error, match="nothere.json"):
        modelpin.Engine(config=str(tmp_path / "nothere.json"))


def test_engine_without_config_or_state_runs_on_defaults():
    # As the CLI does: no config file means OpenClaw's defaults, sessions in memory.
    e = modelpin.Engine()
    out = e.handle("/model status")
    assert out.replies and "anthropic/claude-opus-4-5" in out.replies[0].text
    assert e.handle("hello").route.provider == "anthropic"


def test_state_dir_without_config_file_runs_on_defaults(tmp_path):
    e = modelpin.Engine(state_dir=str(tmp_path))
    assert e.handle("hello").route.model == "claude-opus-4-5"
    e.handle("/model sonnet", session="s")
    # The session went to <state_dir>/sessions.sqlite: a second engine sees the pin.
    again = modelpin.Engine(state_dir=str(tmp_path))
    assert again.session("s")["modelOverride"] == e.session("s")["modelOverride"] != ""


def test_explicit_config_must_exist(tmp_path):
    with pytest.raises(modelpin.Error, match="nope.json"):
        modelpin.Engine(config=str(tmp_path / "nope.json"))


def test_error_is_an_exception_subclass():
    assert issubclass(modelpin.Error, Exception)


def test_one_engine_serves_many_threads(state):
    engine = engine_on(state, sessions=":memory:")
    errors = []

    def worker(n):
        try:
            key = f"chat-{n}"
            pin = "opus@anthropic:work" if n % 2 else "sonnet@anthropic:default"
            for _ in range(200):
                engine.handle(f"/model {pin}", session=key)
                out = engine.handle("hello", session=key)
                assert out.route.profiles[0] == ("anthropic:work" if n % 2 else "anthropic:default")
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_handle_releases_the_gil(state):
    """A Python thread keeps running while handle works on a long message (about 0.1 s)."""
    engine = engine_on(state, sessions=":memory:")
    stop = threading.Event()
    stamps = []

    def spin():
        while not stop.is_set():
            for _ in range(200):
                pass
            stamps.append(time.perf_counter())

    # A message long enough that one call lasts about 0.1 s on this machine: the window below
    # needs more than 50 ms, and on an idle machine 4 MB of text take only about 10 ms.
    words = 2_000_000
    while True:
        text = "x " * words + "/model sonnet"
        start = time.perf_counter()
        engine.handle(text, session="calibrate")
        if time.perf_counter() - start >= 0.1 or words >= 64_000_000:
            break
        words *= 2
    t = threading.Thread(target=spin)
    t.start()
    inside = []
    try:
        for _ in range(3):
            start = time.perf_counter()
            engine.handle(text, session="big")
            end = time.perf_counter()
            # The spinner's ticks well inside the call: none if handle held the GIL (the spinner
            # could only run just before the call or, for a switch interval, after it).
            lo, hi = start + 0.02, end - 0.03
            inside.append(sum(1 for s in list(stamps) if lo < s < hi) if hi > lo else 0)
    finally:
        stop.set()
        t.join()
    assert max(inside) > 10, inside


def test_repr_and_docstrings():
    assert "config" in modelpin.Engine.__doc__
    assert "GIL" in modelpin.Engine.handle.__doc__
    assert repr(modelpin.Reply("hi")) == "Reply(text='hi', is_error=False)"


def test_a_routing_rule_gives_its_model_and_order_and_names_itself(state):
    engine = engine_on(state, config=str(FIXTURES / "config" / "pins-routes.json"))
    out = engine.handle("hello", session="agent:main:telegram:group:-1")
    assert (out.route.model, out.route.profiles, out.route.rule) == ("claude-haiku-4-5", ["anthropic:work"], "groups")
    assert "rule='groups'" in repr(out.route)
    out = engine.handle("hello", session="agent:main:main")
    assert (out.route.model, out.route.rule) == ("claude-opus-4-5", "")
