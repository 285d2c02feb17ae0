#!/usr/bin/python3
"""examples/xmpp-bot end to end, on loopback: prosody (no TLS, throwaway accounts), a stand-in
model provider, the bot built against the installed modelpin, and slixmpp user clients.

    xmpp_bot_test.py BUILD_ROOT SOURCE_ROOT

Checks: /model status in a direct chat; a pin to anthropic:work, then an ordinary message reaches
the provider with the work token and the answer comes back; a 429 makes the next message use the
next credential; a 401 falls through to the next credential; an openrouter route uses the
OpenAI-compatible API; two users in one room share the room's session and are told apart as senders
(the owner's -g is accepted, a non-owner's refused); the bot reconnects after prosody restarts;
SIGTERM stops it; no secret appears in its log. Everything it starts is stopped on exit.
"""
import asyncio
import http.server
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import slixmpp

BUILD, SOURCE = map(pathlib.Path, sys.argv[1:3])
DOMAIN, MUC = "localhost", "conference.localhost"
ROOM = f"lobby@{MUC}"
BOT = f"bot@{DOMAIN}"
WORK_TOKEN = "sk-ant-oat01-BBBB"   # prefixes of fixtures/state's secrets
DEFAULT_KEY = "sk-ant-api03-AAAA"
OPENROUTER_KEY = "sk-or-v1-CCCC"
STEP_TIMEOUT = 20


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, seconds=15):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"FAIL: nothing listens on 127.0.0.1:{port} after {seconds} s")


class Provider(http.server.ThreadingHTTPServer):
    """Answers like Anthropic's Messages API; `script` holds the statuses of the next calls."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), ProviderHandler)
        self.calls, self.script, self.lock = [], [], threading.Lock()


class ProviderHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        server = self.server
        with server.lock:
            status = server.script.pop(0) if server.script else 200
            server.calls.append({"path": self.path, "x-api-key": self.headers.get("x-api-key"),
                                 "authorization": self.headers.get("Authorization"),
                                 "model": body.get("model"), "text": body["messages"][0]["content"],
                                 "status": status})
        answer = f"stand-in answer to: {body['messages'][0]['content']}"
        if status == 200 and self.path.endswith("/chat/completions"):
            payload = {"choices": [{"message": {"role": "assistant", "content": answer}}]}
        elif status == 200:
            payload = {"content": [{"type": "text", "text": answer}]}
        else:
            payload = {"type": "error", "error": {"type": str(status)}}
        data = json.dumps(payload).encode()
        self.send_response(status)
        if status == 429:
            self.send_header("Retry-After", "7")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def credential(call):
    """Which fixture credential a recorded call carried."""
    if (call["authorization"] or "").startswith("Bearer " + WORK_TOKEN):
        return "anthropic:work"
    if (call["x-api-key"] or "").startswith(DEFAULT_KEY):
        return "anthropic:default"
    if (call["authorization"] or "").startswith("Bearer " + OPENROUTER_KEY):
        return "openrouter:default"
    return f"unknown ({call['x-api-key']!r}, {call['authorization']!r})"


class Prosody:
    def __init__(self, tmp, port):
        self.tmp, self.port, self.proc = tmp, port, None
        (tmp / "data").mkdir()
        self.config = tmp / "prosody.cfg.lua"
        self.config.write_text(f"""
pidfile = "{tmp}/prosody.pid"
data_path = "{tmp}/data"
run_as_root = true
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
modules_enabled = {{ "roster", "saslauth", "disco", "ping" }}
modules_disabled = {{ "s2s", "tls" }}
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {port} }}
log = {{ info = "{tmp}/prosody.log" }}
VirtualHost "{DOMAIN}"
Component "{MUC}" "muc"
  muc_room_locking = false
  muc_room_default_public_jids = true
""")

    def prosodyctl(self, *args):
        subprocess.run(["prosodyctl", "--config", str(self.config), *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)

    def start(self):
        self.proc = subprocess.Popen(["prosody", "-F", "--config", str(self.config)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class User(slixmpp.ClientXMPP):
    def __init__(self, jid, password, port):
        super().__init__(jid, password)
        self.port = port
        self["feature_mechanisms"].unencrypted_plain = True
        self.register_plugin("xep_0045")
        self.inbox = asyncio.Queue()
        self.started = asyncio.Event()
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("message", self.on_message)

    async def on_start(self, _):
        self.send_presence()
        self.started.set()

    def on_message(self, msg):
        if msg["body"] and msg["type"] in ("chat", "normal", "groupchat"):
            self.inbox.put_nowait((str(msg["from"]), msg["body"]))

    async def login(self):
        self.connect(("127.0.0.1", self.port), disable_starttls=True)
        await asyncio.wait_for(self.started.wait(), STEP_TIMEOUT)

    async def replies(self, sender, count):
        """The next `count` messages from `sender` (a bare JID, or room/nick)."""
        got = []
        deadline = time.monotonic() + STEP_TIMEOUT
        while len(got) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{self.boundjid.bare}: expected {count} message(s) from {sender}, got {got}")
            frm, body = await asyncio.wait_for(self.inbox.get(), remaining)
            if frm == sender or frm.split("/")[0] == sender and sender == BOT:
                got.append(body)
        return got

    async def ask(self, text, count=1):
        self.send_message(mto=BOT, mbody=text, mtype="chat")
        return await self.replies(BOT, count)

    async def say_in_room(self, text, count=1):
        self.send_message(mto=ROOM, mbody=text, mtype="groupchat")
        return await self.replies(f"{ROOM}/bot", count)


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    print(f"ok: {what}")


async def scenario(port, provider, prosody, bot, bot_log):
    alice, bob = User(f"alice@{DOMAIN}", "alice-pw", port), User(f"bob@{DOMAIN}", "bob-pw", port)
    await alice.login()
    await bob.login()

    # A direct chat: /model status.
    status = (await alice.ask("/model status"))[0]
    check("anthropic/claude-opus-4-5" in status and "anthropic:work" in status,
          "/model status in a direct chat lists the default model and the profiles")

    # Pin, then an ordinary message reaches the provider with the work token; the answer returns.
    pin = (await alice.ask("/model opus@anthropic:work"))[0]
    check(pin.endswith("Auth profile set to anthropic:work."), f"the pin is acknowledged: {pin!r}")
    answer = (await alice.ask("hello"))[0]
    last = provider.calls[-1]
    check(answer == "stand-in answer to: hello", f"the model's answer comes back: {answer!r}")
    check(credential(last) == "anthropic:work" and last["model"] == "claude-opus-4-5"
          and last["path"] == "/v1/messages", f"the call used the work token as a bearer token: {last['path']}")

    # A 429 makes the next message use the next credential. Bob's chat has no user pin, so the
    # route follows the order and rotates past a credential in cooldown.
    await bob.ask("hi")
    first = credential(provider.calls[-1])
    provider.script.append(429)
    before = len(provider.calls)
    answer = (await bob.ask("are you there"))[0]
    tried = [credential(c) for c in provider.calls[before:]]
    check(len(tried) == 2 and tried[0] == first and tried[1] != first
          and answer == "stand-in answer to: are you there",
          f"after a 429 on {first} the same message is retried with {tried[1:]}")
    before = len(provider.calls)
    await bob.ask("and now")
    check(credential(provider.calls[before]) == tried[1],
          f"the next message starts with the next credential ({tried[1]})")

    # Alice pinned the work token, which cools down after bob's 429 (one auth health for the
    # agent): as in OpenClaw, her pin stays and the other credential leads meanwhile. A 401 on
    # it: the pinned work token answers the same message.
    provider.script.append(401)
    before = len(provider.calls)
    answer = (await alice.ask("still there"))[0]
    tried = [credential(c) for c in provider.calls[before:]]
    check(tried == ["anthropic:default", "anthropic:work"] and answer == "stand-in answer to: still there",
          f"a 401 on the first credential falls through to the pinned one, cooling down: {tried}")

    # openrouter: the OpenAI-compatible chat completions API with a bearer key.
    await bob.ask("/model llama")
    answer = (await bob.ask("hi llama"))[0]
    last = provider.calls[-1]
    check(last["path"] == "/api/v1/chat/completions" and credential(last) == "openrouter:default"
          and last["model"] == "meta-llama/llama-3.3-70b-instruct" and answer == "stand-in answer to: hi llama",
          f"an openrouter route calls {last['path']} with the openrouter key and the answer comes back")

    # One room, two users: one session, two senders.
    for user, nick in ((alice, "alice"), (bob, "bob")):
        await user.plugin["xep_0045"].join_muc_wait(ROOM, nick, maxstanzas=0, timeout=STEP_TIMEOUT)
    async def room(speaker, listener, text):
        """speaker says `text` in the room; both see the bot's one reply there."""
        said = (await speaker.say_in_room(text))[0]
        heard = (await listener.replies(f"{ROOM}/bot", 1))[0]
        check(said == heard, f"both occupants see the bot's reply to {text!r}")
        return said

    pinned = await room(alice, bob, "/model sonnet")
    check("sonnet" in pinned, f"alice pins sonnet in the room: {pinned!r}")
    shared = await room(bob, alice, "/model status")
    check("anthropic/claude-sonnet-4-5" in shared, "bob sees alice's pin: the room is one session")
    refused = await room(bob, alice, "/model opus -g")
    check("configuration is immutable" not in refused and "Model set" not in refused,
          f"a non-owner's -g is refused: {refused!r}")
    still = await room(bob, alice, "/model status")
    check("anthropic/claude-sonnet-4-5" in still, "the refused command changed nothing")
    owner = await room(alice, bob, "/model opus -g")
    check("configuration is immutable" in owner, f"the owner's -g is accepted: {owner!r}")
    direct_refused = (await bob.ask("/model opus -g"))[0]
    check(direct_refused == refused and "owner" in refused,
          f"a non-owner's -g is refused in a direct chat too: {direct_refused!r}")

    # The server goes away and comes back: the bot reconnects and answers again.
    for user in (alice, bob):
        user.disconnect()
    prosody.stop()
    prosody.start()
    carol = User(f"alice@{DOMAIN}", "alice-pw", port)
    await carol.login()
    deadline = time.monotonic() + STEP_TIMEOUT
    again = None
    while again is None and time.monotonic() < deadline:
        carol.send_message(mto=BOT, mbody="/model status", mtype="chat")
        try:
            again = (await asyncio.wait_for(carol.replies(BOT, 1), 1.0))[0]
        except (asyncio.TimeoutError, AssertionError):
            pass
    check(again is not None and "anthropic/claude-opus-4-5" in again,
          "after a prosody restart the bot reconnects and the direct chat's pin survived")
    carol.disconnect()


def build_bot(tmp):
    dest = tmp / "dest"
    subprocess.run(["meson", "install", "-C", str(BUILD), "--destdir", str(dest), "--no-rebuild", "--quiet"],
                   check=True, stdout=subprocess.DEVNULL)
    pc = next(dest.rglob("modelpin.pc"))
    prefix = next(l for l in pc.read_text().splitlines() if l.startswith("prefix=")).split("=", 1)[1]
    (tmp / "pc").mkdir()
    (tmp / "pc" / "modelpin.pc").write_text(pc.read_text().replace(f"prefix={prefix}", f"prefix={dest}{prefix}", 1))
    env = dict(os.environ, PKG_CONFIG_PATH=str(tmp / "pc"))
    libdir = subprocess.run(["pkg-config", "--variable=libdir", "modelpin"], env=env, check=True,
                            capture_output=True, text=True).stdout.strip()
    # A sanitized library needs a sanitized consumer.
    options = json.loads(subprocess.run(["meson", "introspect", "--buildoptions", str(BUILD)], check=True,
                                        capture_output=True, text=True).stdout)
    sanitize = next(o["value"] for o in options if o["name"] == "b_sanitize")
    # plain: no -g, so the two files compile in seconds on a busy machine.
    subprocess.run(["meson", "setup", str(tmp / "bot-build"), str(SOURCE / "examples" / "xmpp-bot"),
                    "--buildtype=plain", f"-Db_sanitize={sanitize}", f"-Dcpp_link_args=-Wl,-rpath,{libdir}"], env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["ninja", "-C", str(tmp / "bot-build")], env=env, check=True, stdout=subprocess.DEVNULL)
    return tmp / "bot-build" / "xmpp-bot"


def write_state(tmp, provider_port):
    state = tmp / "state"
    shutil.copytree(SOURCE / "fixtures" / "state", state)
    config = json.loads((state / "modelpin.json").read_text())
    config["models"]["providers"]["anthropic"]["baseUrl"] = f"http://127.0.0.1:{provider_port}"
    config["models"]["providers"]["openrouter"]["baseUrl"] = f"http://127.0.0.1:{provider_port}/api/v1"
    config["commands"] = {"ownerAllowFrom": [f"alice@{DOMAIN}"]}
    (state / "modelpin.json").write_text(json.dumps(config, indent=2))
    return state


def main():
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="xmpp-bot-test."))
    prosody = bot = provider = None
    try:
        started = time.monotonic()
        binary = build_bot(tmp)
        print(f"built the bot against the installed modelpin in {time.monotonic() - started:.1f} s")
        usage = subprocess.run([str(binary), "--jid", BOT], capture_output=True, text=True)
        check(usage.returncode == 2 and "missing" in usage.stderr, "a usage error exits 2")
        help_ = subprocess.run([str(binary), "--help"], capture_output=True, text=True)
        check(help_.returncode == 0 and "--password-file" in help_.stdout, "--help prints the usage")

        provider = Provider()
        threading.Thread(target=provider.serve_forever, daemon=True).start()
        state = write_state(tmp, provider.server_address[1])

        port = free_port()
        prosody = Prosody(tmp, port)
        for user in ("bot", "alice", "bob"):
            prosody.prosodyctl("register", user, DOMAIN, f"{user}-pw")
        prosody.start()

        (tmp / "bot.pw").write_text("bot-pw\n")
        bot_log = tmp / "bot.log"
        with open(bot_log, "w") as log:
            bot = subprocess.Popen([str(binary), "--jid", BOT, "--password-file", str(tmp / "bot.pw"),
                                    "--server", f"127.0.0.1:{port}", "--room", ROOM,
                                    "--config", str(state / "modelpin.json"), "--state", str(state)],
                                   stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + STEP_TIMEOUT
        while "connected as" not in bot_log.read_text():
            if time.time() > deadline or bot.poll() is not None:
                raise AssertionError("the bot did not connect:\n" + bot_log.read_text())
            time.sleep(0.05)

        asyncio.run(asyncio.wait_for(scenario(port, provider, prosody, bot, bot_log), 180))

        bot.send_signal(signal.SIGTERM)
        check(bot.wait(10) == 0, "SIGTERM stops the bot cleanly (exit 0)")
        log = bot_log.read_text()
        secrets = json.loads((state / "agents/main/agent/auth-profiles.json").read_text())["profiles"]
        leaked = [p for p, v in secrets.items() if any(s and s in log for s in (v.get("key"), v.get("token")))]
        check(not leaked and "bot-pw" not in log, "the bot's log holds no secret and no password")
        check("with anthropic:work: HTTP 429 (retry after 7 s)" in log and "with anthropic:default: HTTP 401" in log,
              "the bot logs the 429 with its retry-after, and the 401")
        print("ok: xmpp-bot end to end")
        return 0
    except Exception as e:  # noqa: BLE001 - any failure is the test's failure
        print(f"FAIL: {type(e).__name__}: {e}")
        log = tmp / "bot.log"
        if log.exists():
            print("--- bot log ---\n" + log.read_text())
        return 1
    finally:
        if bot and bot.poll() is None:
            bot.kill()
            bot.wait()
        if prosody:
            prosody.stop()
        if provider:
            provider.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
