"""Python mirrors C++: every error class with its Retry-After and model, the route's plan and
fallback, profile health, stored sessions and explain, each compared with what the CLI shows."""
import json
import os
import subprocess

import pytest

import modelpin
from conftest import FIXTURES


def engine_on(state, **kwargs):
    return modelpin.Engine(state_dir=str(state), environment={}, **kwargs)


def usage_of(state, profile):
    data = json.loads((state / "agents/main/agent/auth-profiles.json").read_text())
    return data.get("usageStats", {}).get(profile, {})


def run_cli(cli, state, *args):
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(state)}
    for k in ("LD_PRELOAD", "ASAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    proc = subprocess.run([cli, *args, "--state", str(state)], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


# What each error class does to the profile's stored health (engine/auth/rotation.h).
@pytest.mark.parametrize("result,field", [
    ("ok", "lastUsed"), ("success", "lastUsed"), ("rate_limit", "cooldownUntil"), ("auth", "cooldownUntil"),
    ("auth_error", "cooldownUntil"), ("timeout", "cooldownUntil"), ("billing", "disabledUntil"),
])
def test_every_error_class_reaches_the_auth_store(state, result, field):
    engine_on(state).report_outcome("main", "s", "anthropic:work", result)
    assert usage_of(state, "anthropic:work").get(field, 0) > 0


@pytest.mark.parametrize("result", ["overloaded", "server_error"])
def test_overloads_and_server_errors_leave_the_health_as_it_was(state, result):
    engine_on(state).report_outcome("main", "s", "anthropic:work", result)
    usage = usage_of(state, "anthropic:work")
    assert [usage.get(k, 0) for k in ("cooldownUntil", "disabledUntil", "errorCount", "lastUsed")] == [0, 0, 0, 0]
    assert engine_on(state).auth_profiles(provider="anthropic")[1].state == "ok"


def test_a_model_scoped_failure_cools_down_that_model_only(state):
    engine = engine_on(state)
    engine.report_outcome("main", "s", "anthropic:work", "model_not_found", model="anthropic/claude-sonnet-4-5")
    usage = usage_of(state, "anthropic:work")
    assert usage["modelCooldowns"]["anthropic/claude-sonnet-4-5"] > 0
    assert usage.get("cooldownUntil", 0) == 0
    work = [p for p in engine.auth_profiles() if p.id == "anthropic:work"][0]
    assert work.state == "model cooldown" and "anthropic/claude-sonnet-4-5" in work.health


def test_retry_after_sets_the_cooldown_under_the_retry_after_rule(state, tmp_path):
    config = json.loads((state / "modelpin.json").read_text())
    config["modelpin"] = {"rotation": {"rate_limit": "retry_after"}}
    (tmp_path / "retry.json").write_text(json.dumps(config))
    engine = engine_on(state, config=str(tmp_path / "retry.json"))
    engine.report_outcome("main", "s", "anthropic:work", "rate_limit", retry_after_ms=120_000)
    usage = usage_of(state, "anthropic:work")
    assert usage["cooldownUntil"] - usage["lastFailureAt"] == 120_000


def test_token_counts_go_into_the_profiles_usage(state):
    # docs/usage-and-budgets.md: no catalog price here, so the call's cost is unknown, not 0.
    engine = engine_on(state)
    engine.report_outcome("main", "s", "anthropic:work", "ok", input_tokens=1200, output_tokens=350,
                          cache_read_tokens=100, billed_model="anthropic/claude-opus-4-5")
    usage = usage_of(state, "anthropic:work")["usage"]
    assert (usage["calls"], usage["input"], usage["output"], usage["cacheRead"], usage["cacheWrite"]) == \
        (1, 1200, 350, 100, 0)
    assert usage["unpriced"] == 1 and usage["costUsd"] == 0


@pytest.mark.parametrize("kwargs,match", [
    ({"result": "slow"}, "model_not_found"),
    ({"result": "rate_limit", "retry_after_ms": -1}, "retry_after_ms"),
    ({"result": "rate_limit", "model": "sonnet"}, "provider/model"),
    ({"result": "ok", "input_tokens": -5}, "input_tokens"),
])
def test_bad_reports_raise_value_error_and_the_engine_goes_on(state, kwargs, match):
    engine = engine_on(state)
    result = kwargs.pop("result")
    with pytest.raises(ValueError, match=match):
        engine.report_outcome("main", "s", "anthropic:work", result, **kwargs)
    assert usage_of(state, "anthropic:work").get("cooldownUntil", 0) == 0
    assert engine.handle("hello", session="s").route.profiles  # the next message is answered


def test_unknown_profile_raises_error(state):
    with pytest.raises(modelpin.Error, match="anthropic:nosuch"):
        engine_on(state).report_outcome("main", "s", "anthropic:nosuch", "rate_limit")


def test_the_route_carries_its_plan_and_its_fallback(state):
    engine = engine_on(state, config=str(FIXTURES / "config" / "rotation.json"))
    route = engine.handle("hello", agent="rot", session="r").route
    assert route.fallback_from == "" and route.fallback_reason == ""
    assert [(c.provider, c.model) for c in route.plan] == [("openrouter", "meta-llama/llama-3.3-70b-instruct")]
    assert route.plan[0].profiles == ["openrouter:default"]
    assert "RouteCandidate(provider='openrouter'" in repr(route.plan[0])
    for profile in route.profiles:
        engine.report_outcome("rot", "r", profile, "rate_limit")
    fallen = engine.handle("hello", agent="rot", session="r").route
    assert (fallen.provider, fallen.model) == ("openrouter", "meta-llama/llama-3.3-70b-instruct")
    assert fallen.fallback_from == f"{route.provider}/{route.model}"
    assert "cooling down" in fallen.fallback_reason
    assert fallen.missing_credential == ""


def test_a_route_without_credentials_says_what_to_do(tmp_path):
    route = modelpin.Engine(state_dir=str(tmp_path), environment={}).handle("hello").route
    assert route.profiles == []
    assert route.missing_credential == (
        "No credential for anthropic: set ANTHROPIC_API_KEY in the bot's environment or its state dir's .env, "
        "or store one with: modelpin models auth paste-api-key --provider anthropic")
    with_key = modelpin.Engine(state_dir=str(tmp_path), environment={"ANTHROPIC_API_KEY": "sk-ant-api03-x"})
    assert with_key.handle("hello").route.missing_credential == ""


def test_profile_health_is_what_models_auth_list_shows(state, cli):
    engine = engine_on(state)
    engine.report_outcome("main", "s", "anthropic:default", "billing")
    engine.report_outcome("main", "s", "anthropic:work", "rate_limit")
    shown = json.loads(run_cli(cli, state, "models", "auth", "list", "--json"))["profiles"]
    mine = engine.auth_profiles()
    assert [p.id for p in mine] == [p["id"] for p in shown]
    for p, q in zip(mine, shown):
        assert (p.provider, p.type, p.secret, p.state, p.error_count) == (
            q["provider"], q["type"], q["secret"], q["state"], q["errorCount"])
        assert p.reason == (q["reason"] or "")
        assert (p.until is None) == (q["until"] is None)
        assert (p.expires is None) == (q["expires"] is None)
    by_id = {p.id: p for p in mine}
    assert by_id["anthropic:default"].state == "disabled" and by_id["anthropic:default"].reason == "billing"
    assert by_id["anthropic:work"].state == "cooldown" and by_id["anthropic:work"].health.startswith("cooldown until ")
    assert "AAAAAAAAAAAAAAAA" not in repr(mine) + "".join(p.secret for p in mine)
    assert [p.id for p in engine.auth_profiles(provider="openrouter")] == ["openrouter:default"]


def test_stored_sessions_are_what_sessions_list_and_show_show(state, cli):
    engine = engine_on(state)
    engine.handle("/model sonnet@anthropic:work", session="chat-1")
    engine.handle("/think high", session="chat-2")
    listed = json.loads(run_cli(cli, state, "sessions", "list", "--json"))
    assert sorted(engine.session_keys()) == sorted(s["key"] for s in listed)
    assert sorted(engine.session_keys()) == ["chat-1", "chat-2"]
    for key in ("chat-1", "chat-2"):
        shown = json.loads(run_cli(cli, state, "sessions", "show", key, "--json"))
        assert engine.session_entry(key) == shown["entry"]
    assert engine.session_entry("chat-1")["authProfileOverride"] == "anthropic:work"
    assert engine.session_entry("nosuch") == {}
    assert engine.session_keys(agent="other") == []


def test_explain_is_what_modelpin_explain_prints(state, cli):
    engine = engine_on(state)
    assert engine.explain("sonnet@anthropic:work") == run_cli(cli, state, "explain", "sonnet@anthropic:work").rstrip("\n")
    assert engine.explain_json("opus") == json.loads(run_cli(cli, state, "explain", "opus", "--json"))


def test_a_misspelt_modelpin_key_is_an_error_here_too(cli, tmp_path):
    path = str(FIXTURES / "bad" / "config-modelpin-typo.json")
    with pytest.raises(modelpin.Error) as err:
        modelpin.Engine(config=path, state_dir=str(tmp_path))
    assert str(err.value) == f'{path}: $.modelpin.stoer (4:14): unknown key "stoer" (did you mean "store"?)'
    proc = subprocess.run([cli, "models", "status", "--config", path, "--state", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stderr.strip() == f"modelpin: {err.value}"
