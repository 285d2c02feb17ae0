#!/usr/bin/env python3
"""One engine behind every door: one config naming a Redis store, used at the same time from the
CLI, the Python package and a bot process (test/store_bot: opened through OpenEngine, as the XMPP
bot, the service and the Node package are) shows one shared session and one
shared cooldown. A real redis-server is started on a unix socket in a temp dir and stopped.

    one_engine_test.py MODELPIN STORE_BOT BUILD_ROOT SOURCE_ROOT

Before OpenEngine, Python and the bots built their engine by hand and silently ran on a local
sessions.sqlite: the CLI saw none of their pins, and their cooldowns were not shared.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

MODELPIN, STORE_BOT, BUILD, SRC = sys.argv[1:5]
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=60, **kw)


def main(tmp):
    sock = os.path.join(tmp, "r.sock")
    # Only Python needs the sanitizer runtime preloaded (a sanitized build's extension); the
    # servers and the programs that link it themselves run without it.
    plain = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    redis = subprocess.Popen([shutil.which("redis-server") or "redis-server", "--port", "0", "--unixsocket", sock,
                              "--save", "", "--dir", tmp], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, env=plain)
    try:
        for _ in range(500):
            if os.path.exists(sock):
                break
            time.sleep(0.02)
        check(os.path.exists(sock), "redis-server started")
        state = os.path.join(tmp, "state")
        shutil.copytree(os.path.join(SRC, "fixtures", "state"), state)
        os.chmod(os.path.join(state, "agents", "main", "agent", "auth-profiles.json"), 0o600)
        config = json.load(open(os.path.join(state, "modelpin.json")))
        config["modelpin"] = {"store": f"unix://{sock}?db=5", "storePrefix": "one:"}
        json.dump(config, open(os.path.join(state, "modelpin.json"), "w"), indent=2)
        env = dict(plain, MODELPIN_STATE_DIR=state, STORE_BOT_RECHECK_MS="0")
        py_env = dict(os.environ, MODELPIN_STATE_DIR=state, PYTHONPATH=os.path.join(BUILD, "python"))

        # The bot pins a session; the CLI and Python see it.
        key = "agent:main:shared"
        bot = subprocess.Popen([STORE_BOT, os.path.join(state, "modelpin.json"), state], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1, env=env)
        bot.stdin.write(f"{key}\t/model sonnet\n")
        bot.stdin.flush()
        line = bot.stdout.readline()
        check(line.startswith("ok\t") and "claude-sonnet-4-5" in line, f"the bot pins sonnet: {line.strip()[:200]}")
        show = run([MODELPIN, "sessions", "show", key, "--json"], env=env)
        check(show.returncode == 0 and "claude-sonnet-4-5" in show.stdout,
              f"the CLI shows the bot's pin: {show.returncode} {show.stdout.strip()[:200]} {show.stderr.strip()[:200]}")
        py = run(["/usr/bin/python3", "-c", f"""
import modelpin, json
e = modelpin.Engine(state_dir={state!r})
print(json.dumps(e.session({key!r})))
out = e.handle("/model opus", session={key!r})
e.report_outcome("main", {key!r}, "anthropic:work", "rate_limit")
"""], env=py_env)
        check(py.returncode == 0 and "claude-sonnet-4-5" in py.stdout,
              f"Python sees the bot's pin: {py.stdout.strip()[:200]} {py.stderr.strip()[-300:]}")

        # Python's pin and its reported rate limit reach the bot and the CLI.
        bot.stdin.write(f"{key}\thello\n")
        bot.stdin.flush()
        line = bot.stdout.readline()
        after = json.loads(line.split("\t", 1)[1]) if line.startswith("ok\t") else {"modelOverride": "?"}
        check(after.get("modelOverride") is None and after.get("modelOverrideSource") == "default",
              f"the bot's next message sees Python's /model opus (the default): {line.strip()[:200]}")
        listed = run([MODELPIN, "models", "auth", "list", "--json"], env=env)
        states = {}
        if listed.returncode == 0:
            states = {p["id"]: p.get("state") for p in json.loads(listed.stdout)["profiles"]}
        check(states.get("anthropic:work") in ("cooldown", "model cooldown"),
              f"the CLI shows the cooldown Python reported: {states} {listed.stderr.strip()[:200]}")
        bot.stdin.write(f"agent:main:other\thello\n")
        bot.stdin.flush()
        line = bot.stdout.readline()
        stored = json.loads(line.split("\t", 1)[1]) if line.startswith("ok\t") else {}
        check(stored.get("authProfileOverride") not in (None, "anthropic:work"),
              f"the bot routes around the profile Python saw fail: {line.strip()[:200]}")
        bot.stdin.close()
        bot.wait(10)

        # Nothing went to a local file: the store named by the config holds it all.
        check(not os.path.exists(os.path.join(state, "sessions.sqlite")), "no client fell back to a local sessions.sqlite")

    finally:
        redis.terminate()
        redis.wait(10)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="modelpin-one-") as tmp:
        main(tmp)
    if failures:
        print(f"one_engine_test: {len(failures)} failure(s)")
        sys.exit(1)
    print("one_engine_test: one shared session and one shared cooldown across the clients")
