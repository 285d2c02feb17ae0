#!/usr/bin/env python3
"""`modelpin models status --probe` against a stand-in provider on loopback (docs/probing.md):
one key answers 200, one 402, one 401; a billing-disabled key that passes comes back, one that
fails stays out with a failed probe counted; the filters, the JSON, the usage errors, and the
next command after each error is still answered.

usage: probe_cli_test.py MODELPIN_EXE SOURCE_ROOT
"""
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

EXE = sys.argv[1]
NOW_MS = 1_800_000_000_000
KEYS = {"anthropic:good": "sk-ant-api03-" + "G" * 40, "anthropic:unpaid": "sk-ant-api03-" + "U" * 40,
        "anthropic:revoked": "sk-ant-api03-" + "R" * 40}
STATUS = {KEYS["anthropic:good"]: 200, KEYS["anthropic:unpaid"]: 402, KEYS["anthropic:revoked"]: 401}
REQUESTS = []


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


class Provider(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        key = self.headers.get("x-api-key", "")
        REQUESTS.append({"path": self.path, "key": key, "body": body})
        status = STATUS.get(key, 401)
        out = json.dumps({"content": [{"type": "text", "text": "."}]} if status == 200 else {"type": "error"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("anthropic-ratelimit-requests-limit", "50")
        self.send_header("anthropic-ratelimit-requests-remaining", "40")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


def run(state, *args, code=0):
    env = dict(os.environ, MODELPIN_NOW_MS=str(NOW_MS), HOME=state)
    p = subprocess.run([EXE, "models", "status", "--state", state, *args], capture_output=True, text=True, env=env,
                       timeout=60)
    if p.returncode != code:
        fail(f"models status {' '.join(args)}: exit {p.returncode}, expected {code}\n{p.stdout}\n{p.stderr}")
    for secret in KEYS.values():
        if secret in p.stdout or secret in p.stderr:
            fail("a secret was printed whole")
    return p


def stored(state):
    with open(os.path.join(state, "agents/main/agent/auth-profiles.json")) as f:
        return json.load(f).get("usageStats", {})


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Provider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with tempfile.TemporaryDirectory() as state:
            os.makedirs(os.path.join(state, "agents/main/agent"))
            with open(os.path.join(state, "modelpin.json"), "w") as f:
                json.dump({"agents": {"defaults": {"model": "anthropic/claude-haiku-4-5"}},
                           "models": {"providers": {"anthropic": {"baseUrl": f"http://127.0.0.1:{server.server_port}"}}}},
                          f)
            disabled = {"disabledUntil": NOW_MS + 3_600_000, "disabledReason": "billing", "errorCount": 1,
                        "lastFailureAt": NOW_MS - 600_000, "lastUsed": 0}
            with open(os.path.join(state, "agents/main/agent/auth-profiles.json"), "w") as f:
                json.dump({"version": 1,
                           "profiles": {k: {"type": "api_key", "provider": "anthropic", "key": v} for k, v in KEYS.items()},
                           "usageStats": {"anthropic:good": disabled, "anthropic:unpaid": disabled}}, f)
            os.chmod(os.path.join(state, "agents/main/agent/auth-profiles.json"), 0o600)

            # Usage errors (exit 2) and a filter that matches nothing (exit 1); nothing is sent.
            if "--probe-profile" not in run(state, "--help").stdout:
                fail("--help does not name --probe-profile")
            run(state, "--probe-timeout", "500", code=2)
            run(state, "--probe", "--probe-timeout", "5", code=2)
            run(state, "--probe", "--probe-concurrency", "x", code=2)
            p = run(state, "--probe", "--probe-profile", "anthropic:nobody", code=1)
            if "anthropic:nobody" not in p.stderr and "no stored profile" not in p.stderr:
                fail(f"the no-match error says why: {p.stderr}")
            if REQUESTS:
                fail(f"a refused command sent requests: {REQUESTS}")

            # Two disabled keys, probed: the good one recovers, the unpaid one stays out.
            p = run(state, "--probe", "--probe-profile", "anthropic:good,anthropic:unpaid", "--probe-concurrency", "2",
                    "--json")
            doc = json.loads(p.stdout)
            probes = {x["profile"]: x for x in doc["probes"]}
            if set(probes) != {"anthropic:good", "anthropic:unpaid"}:
                fail(f"probed {sorted(probes)}")
            g, u = probes["anthropic:good"], probes["anthropic:unpaid"]
            if not (g["status"] == "ok" and g["recovered"] and g["wasDisabled"] and g["model"] == "anthropic/claude-haiku-4-5"
                    and g["error"] is None):
                fail(f"the good key: {g}")
            if not (u["status"] == "billing" and u["httpStatus"] == 402 and not u["recovered"] and u["wasDisabled"]
                    and isinstance(u["error"], str) and u["error"]):
                fail(f"the unpaid key: {u}")
            if any(r["body"].get("max_tokens") != 1 for r in REQUESTS) or len(REQUESTS) != 2:
                fail(f"probes are one request each with max_tokens 1: {REQUESTS}")
            usage = stored(state)
            if usage["anthropic:good"].get("disabledUntil") or usage["anthropic:good"].get("limits", {}).get(
                    "requests", {}).get("remaining") != 40:
                fail(f"the good key is enabled again with the reported quota: {usage['anthropic:good']}")
            if usage["anthropic:unpaid"].get("disabledUntil") != NOW_MS + 3_600_000 or \
                    usage["anthropic:unpaid"].get("probeFailures") != 1 or usage["anthropic:unpaid"].get("errorCount") != 1:
                fail(f"the unpaid key stays as it was, one failed probe counted: {usage['anthropic:unpaid']}")
            # The order in the same status already has the good key back.
            anthropic = [x for x in doc["providers"] if x["provider"] == "anthropic"][0]
            if anthropic["order"][0] == "anthropic:unpaid":
                fail(f"the order after the probes: {anthropic['order']}")

            # By provider, in text: a healthy key with a 401 is reported, and not made worse.
            REQUESTS.clear()
            p = run(state, "--probe", "--probe-provider", "anthropic", "--probe-max-tokens", "2")
            if "Probes" not in p.stdout or "- anthropic:revoked auth" not in p.stdout or "- anthropic:good ok" not in p.stdout:
                fail(f"the text output: {p.stdout}")
            if len(REQUESTS) != 3 or any(r["body"].get("max_tokens") != 2 for r in REQUESTS):
                fail(f"--probe-max-tokens 2 on three profiles: {REQUESTS}")
            if stored(state).get("anthropic:revoked", {}).get("cooldownUntil"):
                fail("a failing probe started a cooldown")
            # Without --probe nothing is sent, and the command answers as before.
            REQUESTS.clear()
            run(state, "--json")
            if REQUESTS:
                fail("models status without --probe sent a request")
        serve_probes(server.server_port)
    finally:
        server.shutdown()
    print("probe_cli: recovery, backoff count, filters, JSON and text, usage errors; serve probes by itself")


def serve_probes(port):
    """`modelpin serve` with modelpin.probe.enabled runs the due probes itself: the good key comes
    back, the unpaid one is probed once and stays out; the service answers meanwhile."""
    with tempfile.TemporaryDirectory() as state:
        os.makedirs(os.path.join(state, "agents/main/agent"))
        with open(os.path.join(state, "modelpin.json"), "w") as f:
            json.dump({"agents": {"defaults": {"model": "anthropic/claude-haiku-4-5"}},
                       "models": {"providers": {"anthropic": {"baseUrl": f"http://127.0.0.1:{port}"}}},
                       "modelpin": {"probe": {"enabled": True, "intervalMs": 60000}}}, f)
        disabled = {"disabledUntil": NOW_MS + 3_600_000, "disabledReason": "billing", "errorCount": 1,
                    "lastFailureAt": NOW_MS - 600_000, "lastUsed": 0}
        path = os.path.join(state, "agents/main/agent/auth-profiles.json")
        with open(path, "w") as f:
            json.dump({"version": 1,
                       "profiles": {k: {"type": "api_key", "provider": "anthropic", "key": v} for k, v in KEYS.items()},
                       "usageStats": {"anthropic:good": disabled, "anthropic:unpaid": disabled}}, f)
        os.chmod(path, 0o600)
        REQUESTS.clear()
        env = dict(os.environ, MODELPIN_NOW_MS=str(NOW_MS), HOME=state, MODELPIN_SERVICE_TOKEN="t" * 32)
        serve = subprocess.Popen([EXE, "serve", "--state", state, "--listen", "127.0.0.1:0", "--memory-sessions"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            lines = []  # stderr, read aside so a serve that never probes cannot hang the test
            threading.Thread(target=lambda: lines.extend(l.strip() for l in serve.stderr), daemon=True).start()
            deadline = time.time() + 30
            while time.time() < deadline and len([l for l in lines if l.startswith("probe ")]) < 2:
                time.sleep(0.1)
            time.sleep(0.3)  # a third probe would show here
            probes = sorted(l for l in lines if l.startswith("probe "))
            if probes != ["probe main anthropic:good: ok (recovered)", "probe main anthropic:unpaid: billing HTTP 402"]:
                fail(f"serve's probes: {lines}")
            usage = stored(state)
            if usage["anthropic:good"].get("disabledUntil") or usage["anthropic:unpaid"].get("probeFailures") != 1:
                fail(f"after serve's probes: {usage}")
            if sorted(r["key"] for r in REQUESTS) != sorted([KEYS["anthropic:good"], KEYS["anthropic:unpaid"]]):
                fail(f"serve probed only the due profiles, once each: {len(REQUESTS)} requests")
        finally:
            serve.terminate()
            serve.wait(timeout=30)
        if serve.returncode != 0:
            fail(f"serve exited {serve.returncode} on SIGTERM")


if __name__ == "__main__":
    main()
