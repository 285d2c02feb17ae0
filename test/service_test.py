#!/usr/bin/python3
"""`modelpin serve` against the OpenAPI document, and every bad input against a running server.

  service_test.py MODELPIN SOURCE_ROOT

1. The routes served (`serve --routes`) are exactly the operations of docs/openapi.json.
2. `serve --help` (0), a usage error (2), no service token (1, naming MODELPIN_SERVICE_TOKEN).
3. Tokens: none (401), wrong (403), the read-only token on GET (200) and on POST (403), probes
   without a token on loopback; the token compared is the one from <state>/.env too.
4. Every route answered, each answer validated against its schema (python3-jsonschema): turns
   (a pin, then a routed message), outcomes, profiles (no secret ever whole), cooldowns clear,
   auth order get/set/clear, sessions list (paged)/show/reset, explain, probes.
5. Bad input, each to the running server, and after each the server still answers a turn and
   nothing changed (sessions and auth store bytes): malformed JSON (400 naming the offset), wrong
   types and unknown fields (400 naming the JSON path), a body over the limit (413), headers over
   the limit (431), an unknown route (404), a wrong method (405 with Allow), a bad escape (400),
   a garbage request line (400), a slow client (408 after the read timeout), too many
   connections (503).
6. A unix socket listener.
7. SIGTERM while a request is in flight: the request is answered, idle connections close, exit 0.
8. Two servers on one real redis-server (unix socket): a pin made through one is seen through the
   other on the next request; a cooldown reported to one routes the other.
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import jsonschema

import support
from support import cleanup, fail, need

MODELPIN, SRC = sys.argv[1], sys.argv[2]
TMP = support.temp_dir("modelpin-service-")
PROCS = support.PROCS
TOKEN = "svc-token-0123456789abcdef0123456789"
READ_TOKEN = "read-token-abcdef0123456789abcdef"
SECRETS = []  # every secret of the fixture: never in any answer
OPENAPI = json.load(open(os.path.join(SRC, "docs", "openapi.json")))
CHECKED = set()  # (method, path template) validated at least once


def make_state(name, store=None):
    state = os.path.join(TMP, name)
    shutil.copytree(os.path.join(SRC, "fixtures", "state"), state)
    if store:
        cfg = json.load(open(os.path.join(state, "modelpin.json")))
        cfg["modelpin"] = {"store": store, "storePrefix": name + ":"}
        json.dump(cfg, open(os.path.join(state, "modelpin.json"), "w"))
    for root, _, files in os.walk(state):
        for f in files:
            if f == "auth-profiles.json":
                for p in json.load(open(os.path.join(root, f)))["profiles"].values():
                    for k in ("key", "token", "access", "refresh"):
                        if k in p:
                            SECRETS.append(p[k])
    return state


def env(**extra):
    e = {k: v for k, v in os.environ.items() if not k.startswith("MODELPIN_") and not k.endswith("_API_KEY")}
    e["MODELPIN_SERVICE_TOKEN"] = TOKEN
    e.update(extra)
    return {k: v for k, v in e.items() if v is not None}


class Server:
    def __init__(self, state, *args, environ=None, listen="127.0.0.1:0"):
        self.p = subprocess.Popen([MODELPIN, "serve", "--state", state, "--listen", listen, *args],
                                  env=environ or env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        PROCS.append(self.p)
        line = self.p.stdout.readline()
        m = re.match(r"listening on (\S+)", line)
        if not m:
            fail(f"serve did not start: {line!r} {self.p.stderr.read() if self.p.poll() is not None else ''}")
        self.address = m.group(1)

    def conn(self, timeout=10):
        if self.address.startswith("unix:"):
            return UnixConnection(self.address[5:], timeout)
        host, port = self.address.rsplit(":", 1)
        return http.client.HTTPConnection(host, int(port), timeout=timeout)

    def raw(self):
        host, port = self.address.rsplit(":", 1)
        return socket.create_connection((host, int(port)), timeout=10)

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        rc = self.p.wait(15)
        if rc != 0:
            fail(f"serve exited {rc} on SIGTERM: {self.p.stderr.read()}")


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def template_of(method, path):
    path = path.split("?")[0]
    for tpl, ops in OPENAPI["paths"].items():
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", tpl), path) and method.lower() in ops:
            return tpl
    return None


def validate(method, path, status, body):
    tpl = template_of(method, path)
    if tpl is None:
        fail(f"{method} {path} answered {status} but is not in docs/openapi.json")
    responses = OPENAPI["paths"][tpl][method.lower()]["responses"]
    if str(status) not in responses:
        fail(f"{method} {tpl}: status {status} is not documented ({sorted(responses)}): {body}")
    schema = responses[str(status)]["content"]["application/json"]["schema"]
    resolver = jsonschema.RefResolver.from_schema(OPENAPI)
    try:
        jsonschema.Draft202012Validator(schema, resolver=resolver).validate(body)
    except jsonschema.ValidationError as e:
        fail(f"{method} {tpl} {status}: answer does not match its schema: {e.message}\n{json.dumps(body)[:2000]}")
    CHECKED.add((method, tpl))


def call(server, method, path, body=None, token=TOKEN, expect=200, conn=None, raw_body=None, headers=None):
    c = conn or server.conn()
    h = dict(headers or {})
    if token:
        h["Authorization"] = "Bearer " + token
    data = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
    if data is not None:
        h["Content-Type"] = "application/json"
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    text = r.read().decode()
    for s in SECRETS + [TOKEN, READ_TOKEN]:
        if s in text:
            fail(f"{method} {path}: a secret appears whole in the answer")
    try:
        doc = json.loads(text)
    except ValueError:
        fail(f"{method} {path}: answer is not JSON: {text[:200]!r}")
    if r.status != expect:
        fail(f"{method} {path}: expected {expect}, got {r.status}: {text}")
    if r.status >= 400 and ("error" not in doc or doc["error"]["status"] != r.status):
        fail(f"{method} {path}: error body not in the error shape: {text}")
    if template_of(method, path):
        validate(method, path, r.status, doc)
    if conn is None:
        c.close()
    return doc, r


def raw(server, method, path, token=TOKEN, read=True):
    """A route that does not answer JSON: (status, content type, headers, text); marks it checked."""
    c = server.conn()
    h = {"Authorization": "Bearer " + token} if token else {}
    c.request(method, path, headers=h)
    r = c.getresponse()
    text = r.read().decode() if read else ""
    ctype = r.getheader("Content-Type") or ""
    headers = {k.lower(): v for k, v in r.getheaders()}
    c.close()
    for secret in SECRETS + [TOKEN, READ_TOKEN]:
        if secret in text:
            fail(f"{method} {path}: a secret appears whole in the answer")
    tpl = template_of(method, path)
    if tpl is None:
        fail(f"{method} {path} is not in docs/openapi.json")
    else:
        content = OPENAPI["paths"][tpl][method.lower()]["responses"].get(str(r.status), {}).get("content", {})
        if not any(ctype.startswith(k) for k in content):
            fail(f"{method} {tpl}: {r.status} {ctype!r} is not documented ({sorted(content)})")
        CHECKED.add((method, tpl))
    return r.status, ctype, headers, text


def test_live_routes(s):
    """The console's files, /metrics, the event stream's head, the timeline and /v1/chat."""
    for path, kind in (("/", "text/html"), ("/console.js", "text/javascript"), ("/console.css", "text/css")):
        status, ctype, headers, text = raw(s, "GET", path, token=None)
        csp = headers.get("content-security-policy", "")
        if status != 200 or not ctype.startswith(kind) or "default-src 'self'" not in csp or "unsafe-inline" in csp:
            fail(f"GET {path}: {status} {ctype!r} CSP {csp!r}")
    if "<script" in raw(s, "GET", "/", token=None)[3].replace('<script src="console.js" defer></script>', ""):
        fail("the console page has an inline script")
    out = call(s, "POST", "/v1/chat", {"text": "/model status", "session": "agent:main:chat"})[0]
    if not out["replies"] or out["route"] is not None or out["answer"] is not None:
        fail(f"/v1/chat of a command: its replies, no route, no answer: {out}")
    call(s, "POST", "/v1/outcome", {"profile": "anthropic:work", "error": "rate_limit", "model": "anthropic/claude-opus-4-5"})
    status, ctype, _, text = raw(s, "GET", "/metrics")
    if status != 200 or "modelpin_call_outcomes_total" not in text or 'profile="anthropic:work"' not in text:
        fail(f"/metrics: {status}, no outcome with the profile label: {text[:400]}")
    # The SQLite store reported what reached it (the first read of a session, each write).
    for op in ("get", "put"):
        m = re.search(r'^modelpin_store_duration_seconds_sum\{store="sqlite",op="%s"\} (\S+)$' % op, text, re.M)
        if not m or float(m.group(1)) <= 0:
            fail(f"/metrics: no SQLite {op} with a duration: {[l for l in text.splitlines() if 'store=' in l]}")
    promtool(text, "/metrics on SQLite")
    check_usage_metrics(s, text, "/metrics on SQLite")
    status, ctype, _, text = raw(s, "GET", "/v1/timeline?since=1h")
    if status != 200 or "<svg" not in text or 'data-profile="anthropic:work"' not in text or 'data-outcome="rate_limit"' not in text:
        fail(f"/v1/timeline: {status} {ctype}: the reported call is not drawn: {text[:300]}")
    # The same picture from the command line, of this running service.
    out = subprocess.run([MODELPIN, "timeline", "--url", "http://" + s.address, "--since", "1h"], capture_output=True,
                         text=True, env=env())
    if out.returncode != 0 or 'data-outcome="rate_limit"' not in out.stdout:
        fail(f"modelpin timeline: exit {out.returncode}, {out.stderr.strip()[:200]!r}, no rate-limited call drawn")
    bad = subprocess.run([MODELPIN, "timeline", "--url", "http://" + s.address], capture_output=True, text=True,
                         env=dict(env(), MODELPIN_SERVICE_TOKEN="wrong"))
    if bad.returncode != 1 or "403" not in bad.stderr:
        fail(f"modelpin timeline with a wrong token: exit {bad.returncode}, {bad.stderr.strip()[:200]!r}")
    call(s, "POST", "/v1/cooldowns/clear", {"profile": "anthropic:work"})
    # The cleared profile routes at once, not after the next recheck of the auth store.
    states = {p["id"]: p["state"] for p in call(s, "GET", "/v1/profiles")[0]["profiles"]}
    if states.get("anthropic:work") != "ok":
        fail(f"right after a cooldown was cleared, the profile still shows {states.get('anthropic:work')!r}")
    status, ctype, _, _ = raw(s, "GET", "/v1/events", read=False)
    if status != 200 or not ctype.startswith("text/event-stream"):
        fail(f"/v1/events: {status} {ctype!r}")
    call(s, "GET", "/v1/sessions?prefix=agent:main:chat")
    print("live routes: console files with a strict policy, /v1/chat, /metrics, /v1/timeline, /v1/events")


def metric(text, name, **labels):
    """The value of the series `name` with exactly these labels (in any order), or None."""
    for line in text.splitlines():
        m = re.match(r'^(\w+)\{(.*)\} (\S+)$', line)
        if m and m.group(1) == name and dict(re.findall(r'(\w+)="([^"]*)"', m.group(2))) == labels:
            return float(m.group(3))
    return None


def check_usage_metrics(s, text, what, agent="main", unpriced=True):
    """The per-profile usage gauges of /metrics say what /v1/usage says, window by window; a
    window whose cost is unknown has no cost series (docs/operations.md)."""
    seen_unpriced = False
    for window in ("5h", "1d", "7d", "30d"):
        for p in call(s, "GET", f"/v1/usage?agent={agent}&window={window}")[0]["profiles"]:
            u = p["windows"][window]
            lab = dict(agent=agent, provider=p["provider"], profile=p["id"], window=window)
            got = {"calls": metric(text, "modelpin_profile_calls", **lab),
                   "failures": metric(text, "modelpin_profile_failures", **lab),
                   "inputTokens": metric(text, "modelpin_profile_tokens", **lab, kind="input"),
                   "outputTokens": metric(text, "modelpin_profile_tokens", **lab, kind="output"),
                   "cacheReadTokens": metric(text, "modelpin_profile_tokens", **lab, kind="cache_read"),
                   "cacheWriteTokens": metric(text, "modelpin_profile_tokens", **lab, kind="cache_write"),
                   "costUsd": metric(text, "modelpin_profile_cost_usd", **lab),
                   "unpricedCalls": metric(text, "modelpin_profile_unpriced_calls", **lab)}
            want = {k: u[k] for k in got}
            if got != want:
                fail(f"{what}: the usage gauges of {p['id']} in {window}: {got}, /v1/usage says {want}")
            seen_unpriced |= u["unpricedCalls"] > 0 and u["inputTokens"] > 0
    if unpriced and not seen_unpriced:
        fail(f"{what}: no profile had a call with tokens and an unknown cost to check")


def promtool(text, what):
    """promtool check metrics accepts the exposition (Debian's prometheus package)."""
    exe = shutil.which("promtool")
    if not exe:
        fail("promtool is not installed (apt-get install prometheus)")
    r = subprocess.run([exe, "check", "metrics"], input=text, capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"promtool rejects {what}: {r.stdout}{r.stderr}")


def turn(server, text, session="agent:main:svc", **kw):
    return call(server, "POST", "/v1/turn", {"text": text, "session": session}, **kw)[0]


def snapshot(server, state):
    sessions = call(server, "GET", "/v1/sessions?limit=1000")[0]
    auth = open(os.path.join(state, "agents", "main", "agent", "auth-profiles.json"), "rb").read()
    return sessions, auth


def test_routes_match_openapi(state):
    out = subprocess.run([MODELPIN, "serve", "--state", state, "--routes"], env=env(), capture_output=True, text=True)
    if out.returncode != 0:
        fail(f"serve --routes exited {out.returncode}: {out.stderr}")
    served = set(out.stdout.split("\n")) - {""}
    documented = {f"{m.upper()} {p}" for p, ops in OPENAPI["paths"].items() for m in ops}
    if served != documented:
        fail(f"served but not documented: {sorted(served - documented)}; documented but not served: "
             f"{sorted(documented - served)}")
    print(f"routes: {len(served)} served, each documented and vice versa")


def test_cli(state):
    r = subprocess.run([MODELPIN, "serve", "--help"], capture_output=True, text=True)
    if r.returncode != 0 or "usage: modelpin serve" not in r.stdout:
        fail(f"serve --help: {r.returncode} {r.stdout[:200]}")
    r = subprocess.run([MODELPIN, "serve", "--threads", "zero", "--state", state], env=env(), capture_output=True, text=True)
    if r.returncode != 2 or "--threads" not in r.stderr:
        fail(f"serve --threads zero: expected exit 2 naming --threads, got {r.returncode}: {r.stderr}")
    r = subprocess.run([MODELPIN, "serve", "--state", state, "--listen", "127.0.0.1:0"],
                       env=env(MODELPIN_SERVICE_TOKEN=None), capture_output=True, text=True, timeout=20)
    if r.returncode != 1 or "MODELPIN_SERVICE_TOKEN" not in r.stderr:
        fail(f"serve without a token: expected exit 1 naming MODELPIN_SERVICE_TOKEN, got {r.returncode}: {r.stderr}")
    r = subprocess.run([MODELPIN, "serve", "--state", state, "--listen", "nowhere"], env=env(),
                       capture_output=True, text=True, timeout=20)
    if r.returncode != 1 or "nowhere" not in r.stderr:
        fail(f"serve --listen nowhere: expected exit 1 naming it, got {r.returncode}: {r.stderr}")
    print("cli: --help 0, usage 2, no token 1, bad address 1")


def test_tokens(s, state):
    call(s, "GET", "/v1/profiles", token=None, expect=401)
    call(s, "GET", "/v1/profiles", token="wrong-" + TOKEN, expect=403)
    call(s, "GET", "/v1/profiles", token=TOKEN[:-1], expect=403)
    call(s, "GET", "/v1/profiles", token=READ_TOKEN, expect=200)
    call(s, "POST", "/v1/turn", {"text": "hi"}, token=READ_TOKEN, expect=403)
    call(s, "DELETE", "/v1/sessions/agent%3Amain%3Amain", token=READ_TOKEN, expect=403)
    call(s, "GET", "/healthz", token=None)
    call(s, "GET", "/readyz", token=None)
    print("tokens: 401 without, 403 wrong, read-only token reads only, probes open on loopback")


def test_routes(s, state):
    out = turn(s, "hello there")
    if not out["route"] or out["route"]["model"] != "anthropic/claude-opus-4-5" or out["replies"]:
        fail(f"a plain message: expected a route to opus and no reply: {out}")
    out = turn(s, "/model sonnet")
    if out["route"] is not None or not out["replies"] or out["session"].get("modelOverride") != "claude-sonnet-4-5":
        fail(f"/model sonnet: expected a reply and the pin stored: {out}")
    out = turn(s, "and now?")
    if out["route"]["model"] != "anthropic/claude-sonnet-4-5":
        fail(f"after /model sonnet the route is {out['route']}")
    first = out["route"]["profiles"][0]
    # Text that needs escaping comes back as sent; bytes that are not UTF-8 come back replaced.
    tricky = 'say "hi" \\ back\tslash \u00fc \U0001f600 \x01 end'
    out = turn(s, tricky)
    if out["route"]["text"] != tricky.strip():
        fail(f"escaped text did not come back as sent: {out['route']['text']!r}")
    # Each character that must be escaped (or is not ASCII), at every place of an 8-byte block
    # (between two others: the engine trims the text's ends).
    for special in ['"', '\\', '\t', '\x01', '\x1f', '\u00fc', '\x7f']:
        for at in range(18):
            sent = "<" + "abcdefghijklmnopqr"[:at] + special + "abcdefghijklmnopqr"[at:] + ">"
            out = turn(s, sent)
            if out["route"]["text"] != sent:
                fail(f"{sent!r} came back as {out['route']['text']!r}")
    raw = b'{"text": "caf\xe9 \xff\xfe bytes", "session": "agent:main:svc"}'
    out = call(s, "POST", "/v1/turn", raw_body=raw)[0]
    if "\ufffd" not in out["route"]["text"] or not out["route"]["text"].startswith("caf"):
        fail(f"invalid UTF-8 in the text: {out['route']['text']!r}")

    # An outcome starts a cooldown; the next turn routes around it; clearing makes it usable.
    o = call(s, "POST", "/v1/outcome", {"session": "agent:main:svc", "profile": first, "error": "rate_limit",
                                        "retryAfterMs": 1000})[0]
    if o["health"]["state"] != "cooldown":
        fail(f"after a rate limit the profile is {o['health']}")
    prof = call(s, "GET", "/v1/profiles")[0]
    states = {p["id"]: p["state"] for p in prof["profiles"]}
    if states.get(first) != "cooldown":
        fail(f"profiles after the rate limit: {states}")
    if any(p["secret"] in SECRETS for p in prof["profiles"]):
        fail("a profile's secret was not masked")
    out = turn(s, "again")
    if out["route"]["profiles"][0] == first:
        fail(f"the cooling profile {first} is still first: {out['route']}")
    cleared = call(s, "POST", "/v1/cooldowns/clear", {"profile": first})[0]
    if cleared["cleared"] != [first]:
        fail(f"cooldowns clear: {cleared}")
    call(s, "POST", "/v1/cooldowns/clear", {"profile": "anthropic:nope"}, expect=404)
    o = call(s, "POST", "/v1/outcome", {"profile": first, "error": "ok",
                                        "limits": {"requests": {"limit": 100, "remaining": 12},
                                                   "tokens": {"limit": 80000, "remaining": 5000, "resetAt": 4102444800000}}})[0]
    if o["health"].get("quota") != "requests 12/100, tokens 5000/80000":
        fail(f"an outcome's reported quota is kept and shown: {o['health']}")
    call(s, "POST", "/v1/outcome", {"profile": "anthropic:nope", "error": "auth"}, expect=404)
    # Token counts go into the profile's usage (docs/usage-and-budgets.md); no catalog price here:
    # the cost is unknown (null), not 0.
    call(s, "POST", "/v1/outcome", {"profile": first, "error": "ok", "inputTokens": 1200, "outputTokens": 350,
                                    "billedModel": "anthropic/claude-opus-4-5"})
    usage = {p["id"]: p for p in call(s, "GET", "/v1/usage?window=5h")[0]["profiles"]}
    mine = usage[first]["windows"]["5h"]
    if mine["inputTokens"] != 1200 or mine["outputTokens"] != 350 or mine["costUsd"] is not None:
        fail(f"usage after a call with tokens: {usage[first]}")
    if list(usage[first]["windows"]) != ["5h"] or usage[first]["total"]["calls"] < 3:
        fail(f"usage windows and totals: {usage[first]}")
    call(s, "GET", "/v1/usage?window=2d", expect=400)
    call(s, "POST", "/v1/outcome", {"profile": first, "inputTokens": -1}, expect=400)

    # Auth order.
    o = call(s, "GET", "/v1/order/anthropic")[0]
    if o["order"] is not None:
        fail(f"order before any set: {o}")
    o = call(s, "PUT", "/v1/order/anthropic", {"profiles": ["anthropic:work", "anthropic:default"]})[0]
    if o["order"] != ["anthropic:work", "anthropic:default"]:
        fail(f"order set: {o}")
    err = call(s, "PUT", "/v1/order/anthropic", {"profiles": ["anthropic:ghost"]}, expect=404)[0]
    if "anthropic:ghost" not in err["error"]["message"]:
        fail(f"order set of an unknown id names it: {err}")
    if call(s, "GET", "/v1/order/anthropic")[0]["order"] != ["anthropic:work", "anthropic:default"]:
        fail("a refused order set changed the order")
    if call(s, "DELETE", "/v1/order/anthropic")[0]["order"] is not None:
        fail("order clear left an order")
    call(s, "GET", "/v1/order/anthropic?agent=nobody", expect=404)

    # Sessions, paged.
    for i in range(5):
        turn(s, "/think high", session=f"agent:main:page{i}")
    keys, after = [], ""
    pages = 0
    while True:
        page = call(s, "GET", "/v1/sessions?limit=2" + (f"&after={after}" if after else ""))[0]
        pages += 1
        keys += [x["key"] for x in page["sessions"]]
        if page["next"] is None:
            break
        after = page["next"]
    if keys != sorted(keys) or len(keys) != len(set(keys)) or not {f"agent:main:page{i}" for i in range(5)} <= set(keys):
        fail(f"paged sessions: {keys}")
    if pages < 3:
        fail(f"{len(keys)} sessions came in {pages} pages of 2")
    call(s, "GET", "/v1/sessions?limit=0", expect=400)
    show = call(s, "GET", "/v1/sessions/agent%3Amain%3Apage1")[0]
    if show["entry"].get("thinkingLevel") != "high":
        fail(f"session show: {show}")
    call(s, "DELETE", "/v1/sessions/agent%3Amain%3Apage1")
    if call(s, "GET", "/v1/sessions/agent%3Amain%3Apage1")[0]["entry"] != {}:
        fail("session reset left the entry")

    ex = call(s, "GET", "/v1/explain?ref=sonnet")[0]
    if "sonnet" not in json.dumps(ex):
        fail(f"explain: {ex}")
    call(s, "GET", "/v1/explain", expect=400)
    print("routes: turn, outcome, profiles, cooldowns, order, sessions (paged), explain answer as documented")


def check_alive(s, state, before, what):
    out = turn(s, "still there?", session="agent:main:alive")
    if not out["route"]:
        fail(f"after {what}: a turn was not routed")
    call(s, "DELETE", "/v1/sessions/agent%3Amain%3Aalive")
    after = snapshot(s, state)
    if after != before:
        fail(f"after {what}: the sessions or the auth store changed")


def raw_exchange(s, data, wait=None):
    sock = s.raw()
    sock.sendall(data)
    if wait:
        time.sleep(wait)
    chunks = []
    while True:
        try:
            b = sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not b:
            break
        chunks.append(b)
    sock.close()
    return b"".join(chunks).decode(errors="replace")


def status_of(text):
    m = re.match(r"HTTP/1\.1 (\d+)", text)
    return int(m.group(1)) if m else None


def test_bad_input(s, state):
    before = snapshot(s, state)
    cases = [
        ("POST", "/v1/turn", '{"text": "hi",', 400, "offset"),
        ("POST", "/v1/turn", '{"text": 42}', 400, "$.text: expected a string"),
        ("POST", "/v1/turn", '{"text": "hi", "txet": 1}', 400, "$.txet: unknown field"),
        ("POST", "/v1/turn", '{}', 400, "$.text: required"),
        ("POST", "/v1/turn", '[1,2]', 400, "$: expected a JSON object"),
        ("POST", "/v1/turn", '', 400, "empty body"),
        ("POST", "/v1/turn", '{"text": "hi"} trailing', 400, "offset"),
        ("POST", "/v1/outcome", '{"profile": "anthropic:default", "error": "teapot"}', 400, "$.error"),
        ("POST", "/v1/outcome", '{"profile": "anthropic:default", "retryAfterMs": -5}', 400, "$.retryAfterMs"),
        ("POST", "/v1/outcome", '{"profile": "anthropic:default", "limits": {"requests": {"limit": 10, "remaining": 11}}}',
         400, "$.limits.requests: expected limit > 0"),
        ("POST", "/v1/outcome", '{"profile": "anthropic:default", "limits": {"calls": {}}}', 400, "$.limits.calls: unknown"),
        ("PUT", "/v1/order/anthropic", '{"profiles": "anthropic:work"}', 400, "$.profiles"),
        ("PUT", "/v1/order/anthropic", '{"profiles": [1]}', 400, "$.profiles[0]"),
        ("POST", "/v1/cooldowns/clear", '{"profile": "a", "provider": "b"}', 400, "not both"),
        ("POST", "/v1/turn", '{"text": "' + "x" * 70000 + '"}', 413, "larger than"),
        ("GET", "/v1/nowhere", None, 404, "no such route"),
        ("GET", "/v1/turn", None, 405, "POST"),
        ("GET", "/v1/sessions/%zz", None, 400, "percent"),
        ("GET", "/v1/profiles?agent=nobody", None, 404, "nobody"),
    ]
    for method, path, body, status, needle in cases:
        c = s.conn()
        h = {"Authorization": "Bearer " + TOKEN}
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        text = r.read().decode()
        c.close()
        if r.status != status or needle not in text:
            fail(f"{method} {path} {(body or '')[:60]!r}: expected {status} with {needle!r}, got {r.status}: {text[:300]}")
        if status == 405 and "POST" not in (r.getheader("Allow") or ""):
            fail(f"405 without Allow: {r.getheaders()}")
        doc = json.loads(text)
        if doc["error"]["status"] != status:
            fail(f"error body status {doc}")
        check_alive(s, state, before, f"{method} {path} ({status})")
    # Below HTTP: headers over the limit, a garbage request line, a slow client.
    big = raw_exchange(s, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
    if status_of(big) != 431:
        fail(f"headers over the limit: {big[:200]!r}")
    check_alive(s, state, before, "headers over the limit")
    garbage = raw_exchange(s, b"\x16\x03\x01 hello\r\n\r\n")
    if status_of(garbage) != 400:
        fail(f"garbage request line: {garbage[:200]!r}")
    check_alive(s, state, before, "a garbage request line")
    t0 = time.time()
    slow = raw_exchange(s, b"POST /v1/turn HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{\"te")
    if status_of(slow) != 408 or time.time() - t0 > 5:
        fail(f"slow client: expected 408 after the read timeout, got {slow[:200]!r} after {time.time() - t0:.1f}s")
    check_alive(s, state, before, "a slow client")
    print(f"bad input: {len(cases) + 3} kinds refused with clear JSON errors; the server answered after each, "
          "nothing changed")


def test_connection_limit(state):
    s = Server(state, "--max-connections", "3", "--memory-sessions")
    held = [s.raw() for _ in range(3)]
    time.sleep(0.2)
    extra = raw_exchange(s, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    if status_of(extra) != 503 or "too many connections" not in extra:
        fail(f"a 4th connection over --max-connections 3: {extra[:200]!r}")
    for h in held:
        h.close()
    time.sleep(0.2)
    call(s, "GET", "/healthz")
    s.stop()
    print("connections: one over the limit is answered 503, the server goes on")


def test_unix_and_dotenv(state):
    # The token from <state>/.env, and a unix socket.
    with open(os.path.join(state, ".env"), "w") as f:
        f.write(f"MODELPIN_SERVICE_TOKEN={TOKEN}\n")
    os.chmod(os.path.join(state, ".env"), 0o600)
    path = os.path.join(TMP, "svc.sock")
    s = Server(state, "--memory-sessions", listen="unix:" + path, environ=env(MODELPIN_SERVICE_TOKEN=None))
    out = turn(s, "over a unix socket")
    if not out["route"]:
        fail(f"a turn over the unix socket: {out}")
    call(s, "GET", "/v1/profiles", token="nope", expect=403)
    s.stop()
    if os.path.exists(path):
        fail("the unix socket file was left behind")
    os.unlink(os.path.join(state, ".env"))
    print("unix socket: served, token from <state>/.env, socket removed on exit")


def test_drain(state):
    s = Server(state, "--memory-sessions")
    idle = s.conn()
    call(s, "GET", "/healthz", conn=idle)  # an idle keep-alive connection
    sock = s.raw()
    body = json.dumps({"text": "in flight", "session": "agent:main:drain"}).encode()
    head = (f"POST /v1/turn HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    sock.sendall(head + body[:5])
    time.sleep(0.2)
    s.p.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    if s.p.poll() is not None:
        fail("serve exited with a request in flight")
    sock.sendall(body[5:])
    answer = b""
    while True:
        b = sock.recv(65536)
        if not b:
            break
        answer += b
    text = answer.decode()
    if status_of(text) != 200 or '"route"' not in text:
        fail(f"the request in flight during the drain: {text[:300]!r}")
    rc = s.p.wait(10)
    if rc != 0:
        fail(f"serve exited {rc} after the drain")
    print("drain: the request in flight was answered, then exit 0")


def start_redis(name="redis"):
    exe = need("redis-server")
    d = os.path.join(TMP, name)
    os.makedirs(d)
    sock = os.path.join(d, "r.sock")
    p = subprocess.Popen([exe, "--port", "0", "--unixsocket", sock, "--save", "", "--dir", d],
                         stdout=open(os.path.join(d, "log"), "w"), stderr=subprocess.STDOUT)
    PROCS.append(p)
    deadline = time.time() + 10
    while not os.path.exists(sock):
        if time.time() > deadline or p.poll() is not None:
            fail("redis-server did not start")
        time.sleep(0.05)
    return sock


def test_two_instances():
    sock = start_redis()
    state = make_state("shared", f"unix://{sock}")
    a = Server(state)
    b = Server(state)
    key = "agent:main:shared"
    if turn(b, "hello", session=key)["route"]["model"] != "anthropic/claude-opus-4-5":
        fail("the shared session did not start on the default model")
    turn(a, "/model sonnet", session=key)
    # A command through the other server proves its cached copy current first (one round trip):
    # it sees the pin at once.
    status = turn(b, "/model status", session=key)
    if "anthropic/claude-sonnet-4-5" not in " ".join(r["text"] for r in status["replies"]):
        fail(f"a pin made through one server is not in the other's /model status: {status['replies']}")
    # An ordinary message is answered from the cache, which learns of the other server's change
    # from Redis's change message (milliseconds; on a loaded machine longer): it converges.
    deadline = time.time() + 5
    while True:
        out = turn(b, "next", session=key)
        if out["route"]["model"] == "anthropic/claude-sonnet-4-5":
            break
        if time.time() > deadline:
            fail(f"a pin made through one server is not seen through the other after 5 s: {out['route']}")
        time.sleep(0.02)
    first = out["route"]["profiles"][0]
    call(a, "POST", "/v1/outcome", {"session": key, "profile": first, "error": "rate_limit"})
    # The other server looks at the shared health on its recheck schedule (1 s by default).
    deadline = time.time() + 5
    while True:
        out = turn(b, "again", session=key)
        if out["route"]["profiles"][0] != first:
            break
        if time.time() > deadline:
            fail(f"a cooldown reported to one server does not route the other: {out['route']}")
        time.sleep(0.1)
    states = {p["id"]: p["state"] for p in call(b, "GET", "/v1/profiles")[0]["profiles"]}
    if states.get(first) != "cooldown":
        fail(f"the other server's profiles do not show the cooldown: {states}")
    # Each server's Redis stores reported their operations: counts and real latencies on /metrics.
    for name, server, ops in (("a", a, ("get", "put", "health_update")), ("b", b, ("get", "health_version"))):
        text = raw(server, "GET", "/metrics")[3]
        for op in ops:
            m = re.search(r'^modelpin_store_duration_seconds_sum\{store="redis",op="%s"\} (\S+)$' % op, text, re.M)
            n = re.search(r'^modelpin_store_operations_total\{store="redis",op="%s"\} (\d+)$' % op, text, re.M)
            if not m or not n or float(m.group(1)) <= 0 or int(n.group(1)) < 1:
                fail(f"server {name}: /metrics has no Redis {op} with a duration: "
                     f"{[l for l in text.splitlines() if 'store=' in l]}")
        promtool(text, f"/metrics of server {name} on Redis")
    a.stop()
    b.stop()
    print("two servers on one Redis: a pin and a cooldown made through one are seen through the other; "
          "/metrics counts their Redis operations")


def test_shared_budget():
    """Two servers on one Redis share one budget (docs/usage-and-budgets.md): 4 calls per 1d on
    anthropic:work (first in the auth order), reported alternately through each; until the 4th both
    route it first, then both route anthropic:default first, show the state `budget` naming the
    budget, and show its calls and cost (/v1/profiles, /metrics)."""
    sock = start_redis("redis-budget")
    state = make_state("budget", f"unix://{sock}")
    path = os.path.join(state, "modelpin.json")
    cfg = json.load(open(path))
    cfg["modelpin"]["budgets"] = [{"profile": "anthropic:work", "calls": 4, "window": "1d"}]
    cfg["auth"]["order"] = {"anthropic": ["anthropic:work", "anthropic:default"]}  # routed first while usable
    cfg["models"]["providers"]["anthropic"]["models"].append(
        {"id": "claude-opus-4-5", "name": "Claude Opus 4.5", "cost": {"input": 5, "output": 25}})
    json.dump(cfg, open(path, "w"))
    a, b = Server(state), Server(state)
    key, limited = "agent:main:budget", "anthropic:work"

    def state_of(server):
        return {p["id"]: p for p in call(server, "GET", "/v1/profiles")[0]["profiles"]}[limited]

    for n in range(4):
        for name, server in (("a", a), ("b", b)):
            st = state_of(server)
            if st["state"] != "ok" or turn(server, "hello", session=key)["route"]["profiles"][0] != limited:
                fail(f"after {n} of 4 calls, server {name} already stops {limited}: {st}")
        call((a, b)[n % 2], "POST", "/v1/outcome",
             {"session": key, "profile": limited, "error": "ok", "inputTokens": 1000, "outputTokens": 100,
              "model": "anthropic/claude-opus-4-5"})
    # Each server reads the shared health on its recheck schedule (1 s by default).
    for name, server in (("a", a), ("b", b)):
        deadline = time.time() + 5
        while True:
            st = state_of(server)
            route = turn(server, "hello", session=key)["route"]
            if st["state"] == "budget" and route["profiles"][0] != limited:
                break
            if time.time() > deadline:
                fail(f"server {name}: 4 calls shared through Redis did not stop {limited}: {st}, route {route}")
            time.sleep(0.1)
        if "calls 4 per 1d for profile anthropic:work" not in (st.get("reason") or ""):
            fail(f"server {name}: the budget stopping {limited} is not named: {st}")
        u = st["usage"]
        if u["calls"] != 4 or u["costUsd"] is None or abs(u["costUsd"] - 4 * 0.0075) > 1e-9:
            fail(f"server {name}: {limited} used 4 calls at $0.0075 in the last day, /v1/profiles shows {u}")
        text = raw(server, "GET", "/metrics")[3]
        cost = metric(text, "modelpin_profile_cost_usd", agent="main", provider="anthropic", profile=limited, window="1d")
        if cost is None or abs(cost - 0.03) > 1e-9 or metric(text, "modelpin_profile_state", agent="main",
                                                             provider="anthropic", profile=limited, state="budget") != 1:
            fail(f"server {name}: /metrics: {[l for l in text.splitlines() if limited in l]}")
        check_usage_metrics(server, text, f"/metrics of server {name} with a shared budget", unpriced=False)
        promtool(text, f"/metrics of server {name} with a shared budget")
    a.stop()
    b.stop()
    print("two servers on one Redis share a budget: after 4 calls reported through either, both stop the profile; "
          "its calls and cost show on /v1/profiles and /metrics")


def main():
    try:
        state = make_state("main")
        test_routes_match_openapi(state)
        test_cli(state)
        s = Server(state, "--read-timeout-ms", "800", "--max-body", "65536",
                   environ=env(MODELPIN_SERVICE_READ_TOKEN=READ_TOKEN))
        test_tokens(s, state)
        test_routes(s, state)
        test_live_routes(s)
        test_bad_input(s, state)
        s.stop()
        documented = {(m.upper(), p) for p, ops in OPENAPI["paths"].items() for m in ops}
        if documented - CHECKED:
            fail(f"documented routes never answered here: {sorted(documented - CHECKED)}")
        test_connection_limit(make_state("limit"))
        test_unix_and_dotenv(make_state("unix"))
        test_drain(make_state("drain"))
        test_two_instances()
        test_shared_budget()
        print("service: all checks passed")
    finally:
        cleanup()


main()
