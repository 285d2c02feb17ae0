#!/usr/bin/python3
"""Sessions shared through a real redis-server, started here in a temp dir and stopped on exit.

  redis_store_test.py STORE_BOT MODELPIN SOURCE_ROOT [N]

1. Two bot processes answer the messages of one session alternately: every answer equals what
   one process with an in-memory store answers.
2. Four processes x N messages (N=10,000) at once, on distinct and on shared sessions, each
   process owning one field of the shared sessions (model, /think, /verbose, /queue): no update
   is lost (every session ends with the last value each owner set).
3. Redis killed and restarted mid-run (AOF, appendfsync always): the messages in between get a
   clear error, the bot recovers when it is back, and no acknowledged change is lost.
4. Redis frozen with SIGSTOP: each message errs within the timeout (no hung bot), and the bot
   recovers after SIGCONT.
5. A password-protected server on a loopback port (redis://:PW@127.0.0.1:PORT/3): works, and the
   password shows in no output, even of errors.
6. `modelpin sessions list|show|reset` on the shared store.
7. Round trips: each command costs exactly one script call on the server (the version-checked
   write, or the version check when it changes nothing) and an ordinary message none: the
   process's own writes stay in its cache (INFO commandstats counts them).
8. `replay --state` on Redis (group commit: writes pipelined) prints exactly what the same replay
   on SQLite prints; a process changing the replayed session meanwhile makes the replay fail
   with an error naming the change it could not apply, not succeed with it lost.
9. A write whose answer timed out but that landed on Redis (DEBUG SLEEP holds the server past
   the timeout): the error says "may have been applied", and the writer's next ordinary
   messages route on what Redis holds, not on its stale cache.
10. Redis restarted while the bots' connections were idle (unix socket and TCP): the first
   message after it is back is answered, not failed with a broken connection.
11. Redis still loading its data after a restart (LOADING): a message waits it out within the
   timeout; a timeout shorter than the load gives an error naming it.
12. modelpin.storeWaitReplicas 1: a pin is acknowledged once the replica confirmed it; with the
   replica frozen (SIGSTOP) a pin errs within the timeout saying how many replicas confirmed it,
   the next messages are answered and read what the primary holds; after SIGCONT pins succeed.
A missing redis-server is a failure, not a skip. $REDIS_TESTS (names, comma-separated) runs a
subset while developing.
"""
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import support
from support import cleanup, fail, free_port, need

BOT, MODELPIN, SRC = sys.argv[1], sys.argv[2], sys.argv[3]
N = int(sys.argv[4]) if len(sys.argv) > 4 else 10000
TMP = support.temp_dir("modelpin-redis-")
SERVERS = support.PROCS
PASSWORD = "s3cret-Redis-PW-4242"


def start_redis(name, port=0, extra=()):
    d = os.path.join(TMP, name)
    os.makedirs(d, exist_ok=True)
    sock = os.path.join(d, "r.sock")
    p = subprocess.Popen([need("redis-server"), "--port", str(port), "--unixsocket", sock, "--save", "", "--dir", d,
                          "--bind", "127.0.0.1", "--enable-debug-command", "local", *extra],
                         stdout=open(os.path.join(d, "log"), "a"), stderr=subprocess.STDOUT)
    SERVERS.append(p)
    deadline = time.time() + 10
    while time.time() < deadline:
        if os.path.exists(sock):
            return p, sock
        if p.poll() is not None:
            fail(f"redis-server exited: {open(os.path.join(d, 'log')).read()[-500:]}")
        time.sleep(0.02)
    fail("redis-server did not start within 10 s")


def make_state(name, url, timeout_ms=200, prefix="t:"):
    state = os.path.join(TMP, name)
    shutil.copytree(os.path.join(SRC, "fixtures/state"), state)
    os.chmod(os.path.join(state, "agents/main/agent/auth-profiles.json"), 0o600)
    cfg = json.load(open(os.path.join(state, "modelpin.json")))
    cfg["modelpin"] = {"store": url, "storePrefix": prefix, "storeTimeoutMs": timeout_ms}
    path = os.path.join(state, "modelpin.json")
    json.dump(cfg, open(path, "w"))
    return state, path


class Bot:
    def __init__(self, config, state, memory=False, recheck_ms=1000):
        args = [BOT, config, state] + (["--memory"] if memory else [])
        env = dict(os.environ, STORE_BOT_RECHECK_MS=str(recheck_ms))
        self.p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, bufsize=1, env=env)

    def send(self, session, text, limit_s=5.0):
        t0 = time.time()
        self.p.stdin.write(f"{session}\t{text}\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            fail(f"bot exited: {self.p.stderr.read()[-500:]}")
        took = time.time() - t0
        if took > limit_s:
            fail(f"a message took {took:.1f} s (limit {limit_s} s)")
        kind, _, rest = line.rstrip("\n").partition("\t")
        return kind, rest, took

    def close(self):
        self.p.stdin.close()
        err = self.p.stderr.read()
        self.p.wait(30)
        return err


MESSAGES = ["/model sonnet", "/model opus", "hello there", "/think high", "/think low", "/verbose on",
            "/verbose off", "/queue collect", "/model opus@anthropic:work", "what next?", "/model default",
            "/model sonnet /think medium", "/queue followup"]


def at_free(answer):
    kind, rest = answer
    # times: "setAt"/"until" of a scope, the first member of each stored history event
    return kind, re.sub(r'\[\d{13},', '[0,', re.sub(r'"(at|setAt|until)":\d+', r'"\1":0', rest))


def test_alternating(sock):
    state, cfg = make_state("alt", f"unix://{sock}?db=1", prefix="alt:")
    a, b, ref = Bot(cfg, state), Bot(cfg, state), Bot(cfg, state, memory=True)
    rnd = random.Random(17)
    for i in range(300):
        text = rnd.choice(MESSAGES)
        if not text.startswith("/"):
            # An ordinary message may be answered from the process's cache, which learns of the
            # other process's change by a message on the change channel (well under 1 ms).
            time.sleep(0.005)
        # The session's pin history (modelpin.history) is compared too, but for its times: the
        # processes read their own clocks.
        got = at_free((a if i % 2 == 0 else b).send("agent:main:alt", text)[:2])
        want = at_free(ref.send("agent:main:alt", text)[:2])
        if got != want:
            fail(f"alternating message {i} {text!r}: shared store gave {got}, one process gives {want}")
    for bot in (a, b, ref):
        bot.close()
    print("ok: two processes alternating on one session answer as one process does (300 messages)")


# Each owner's commands and how its field reads in the stored JSON.
OWNERS = [
    (["/model sonnet", "/model opus"], lambda s: s.get("modelOverride")),
    (["/think high", "/think low"], lambda s: s.get("thinkingLevel")),
    (["/verbose on", "/verbose off"], lambda s: s.get("plugins", {}).get("verboseLevel")),
    (["/queue collect", "/queue followup"], lambda s: s.get("plugins", {}).get("queueMode")),
]


def show(cfg, state, key):
    r = subprocess.run([MODELPIN, "sessions", "show", key, "--json", "--config", cfg, "--state", state],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        fail(f"sessions show {key}: {r.stderr}")
    return json.loads(r.stdout)["entry"]


def test_no_lost_update(sock):
    state, cfg = make_state("many", f"unix://{sock}?db=2", prefix="many:")
    shared = [f"agent:main:shared{j}" for j in range(8)]
    inputs, last = [], {}
    for w in range(4):
        cmds, _ = OWNERS[w]
        lines = []
        for i in range(N):
            if i % 2 == 0:  # distinct sessions of this process
                key, text = f"agent:main:w{w}-{i % 50}", cmds[(i // 2) % 2]
            else:  # shared sessions: this process changes only its own field
                key, text = shared[(i // 2) % len(shared)], cmds[(i * 7 // 3) % 2]
            lines.append(f"{key}\t{text}\n")
            last[(w, key)] = text
        path = os.path.join(TMP, f"in{w}.txt")
        open(path, "w").write("".join(lines))
        inputs.append(path)
    env = dict(os.environ, MODELPIN_NOW_MS="1800000000000")
    t0 = time.time()
    procs = [subprocess.Popen([BOT, cfg, state], stdin=open(p), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env) for p in inputs]
    outs = [p.communicate(timeout=600) for p in procs]
    took = time.time() - t0
    for w, (out, err) in enumerate(outs):
        bad = [l for l in out.splitlines() if not l.startswith("ok\t")]
        if bad or procs[w].returncode != 0:
            fail(f"process {w}: {len(bad)} failed messages, first: {bad[:1]} {err[-300:]}")
    # Stored values, through the CLI on the shared store.
    expect = {"/model sonnet": "claude-sonnet-4-5", "/model opus": None, "/think high": "high",
              "/think low": "low", "/verbose on": "on", "/verbose off": "off", "/queue collect": "collect",
              "/queue followup": "followup"}
    checked = 0
    for (w, key), text in last.items():
        entry = show(cfg, state, key)
        got = OWNERS[w][1](entry)
        if got != expect[text]:
            fail(f"lost update: {key} field of process {w} is {got!r}, its last change was {text!r}")
        checked += 1
    print(f"ok: 4 processes x {N} messages in {took:.1f} s, {checked} (process, session) fields as last set")


def test_restart():
    server, sock = start_redis("restart", extra=["--appendonly", "yes", "--appendfsync", "always"])
    state, cfg = make_state("restart-state", f"unix://{sock}", timeout_ms=200, prefix="rs:")
    bot = Bot(cfg, state)
    acked, pending, errors = {}, {}, []
    i, restarted_at, recovered = 0, None, False
    deadline = time.time() + 60
    while time.time() < deadline and i < 3000:
        key, text = f"agent:main:r{i % 20}", ["/model sonnet", "/model opus"][(i // 20) % 2]
        kind, rest, _ = bot.send(key, text, limit_s=3)
        if kind == "ok":
            acked[key] = text
            pending.pop(key, None)
            if restarted_at is not None and errors:
                recovered = True
        else:
            errors.append(rest)
            pending.setdefault(key, []).append(text)
            time.sleep(0.01)  # a bot's next message, not a spin
        i += 1
        if i == 200:
            server.kill()
            server.wait(5)
            restarted_at = time.time()
        if restarted_at and server.poll() is not None and time.time() - restarted_at > 0.5:
            os.unlink(sock) if os.path.exists(sock) else None
            server, _ = start_redis("restart", extra=["--appendonly", "yes", "--appendfsync", "always"])
        if recovered and i > 400:
            break
    bot.close()
    if not errors:
        fail("no message failed while redis was down")
    if "redis unix://" not in errors[0]:
        fail(f"the error does not name the store: {errors[0]!r}")
    if not recovered:
        fail(f"no recovery after the restart ({len(errors)} errors, last {errors[-1]!r})")
    expect = {"/model sonnet": "claude-sonnet-4-5", "/model opus": None}
    for key, text in acked.items():
        got = show(cfg, state, key).get("modelOverride")
        allowed = {expect[text]} | {expect[t] for t in pending.get(key, [])}
        if got not in allowed:
            fail(f"acknowledged change lost: {key} is {got!r}, acknowledged {text!r}")
    print(f"ok: redis restarted mid-run: {len(errors)} messages got \"{errors[0][:90]}...\", "
          f"then recovery; all {len(acked)} acknowledged pins kept")


def test_sigstop(server, sock):
    state, cfg = make_state("stop", f"unix://{sock}?db=4", timeout_ms=200, prefix="st:")
    bot = Bot(cfg, state)
    if bot.send("agent:main:s", "/model sonnet")[0] != "ok":
        fail("first message before SIGSTOP failed")
    server.send_signal(signal.SIGSTOP)
    try:
        worst = 0.0
        for k in range(5):
            kind, rest, took = bot.send("agent:main:s", "/model opus", limit_s=2.0)
            worst = max(worst, took)
            if kind != "err" or "no answer within 200 ms" not in rest:
                fail(f"message {k} to a frozen redis: {kind} {rest!r}")
    finally:
        server.send_signal(signal.SIGCONT)
    ok = False
    for _ in range(50):
        if bot.send("agent:main:s", "/model opus")[0] == "ok":
            ok = True
            break
        time.sleep(0.05)
    bot.close()
    if not ok:
        fail("no recovery after SIGCONT")
    print(f"ok: frozen redis: 5 messages erred in at most {worst * 1000:.0f} ms each; recovered after SIGCONT")


def test_password_and_cli():
    port = free_port()
    start_redis("pw", port=port, extra=["--requirepass", PASSWORD])
    url = f"redis://:{PASSWORD}@127.0.0.1:{port}/3"
    state, cfg = make_state("pw-state", url, prefix="pw:")
    bot = Bot(cfg, state)
    for key in ("agent:main:x", "agent:main:y"):
        if bot.send(key, "/model sonnet@anthropic:work")[0] != "ok":
            fail("pin over TCP with a password failed")
    bot.close()
    outputs = []
    def cli(*args, code=0):
        r = subprocess.run([MODELPIN, "sessions", *args, "--config", cfg, "--state", state],
                           capture_output=True, text=True, timeout=30)
        outputs.append(r.stdout + r.stderr)
        if r.returncode != code:
            fail(f"sessions {args}: exit {r.returncode}: {r.stderr}")
        return r.stdout
    listed = json.loads(cli("list", "--json"))
    if [s["key"] for s in listed] != ["agent:main:x", "agent:main:y"]:
        fail(f"sessions list --json: {listed}")
    if "agent:main:x  anthropic/claude-sonnet-4-5 @anthropic:work (user)" not in cli("list"):
        fail("sessions list text")
    entry = json.loads(cli("show", "agent:main:x", "--json"))["entry"]
    if entry.get("authProfileOverride") != "anthropic:work" or entry.get("modelOverride") != "claude-sonnet-4-5":
        fail(f"sessions show: {entry}")
    cli("reset", "agent:main:x")
    if json.loads(cli("show", "agent:main:x", "--json"))["entry"] != {}:
        fail("sessions reset left the entry")
    cli("frobnicate", code=2)
    # A wrong password and a closed port: exit 1, clear errors, no password.
    for bad_url in (f"redis://:{PASSWORD}x@127.0.0.1:{port}/3", f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0",
                    f"redis://:{PASSWORD}@127.0.0.1:notaport/0"):
        c = json.load(open(cfg))
        c["modelpin"]["store"] = bad_url
        json.dump(c, open(cfg, "w"))
        cli("list", code=1)
    for o in outputs:
        if PASSWORD in o:
            fail(f"the password was printed: {o!r}")
    print("ok: password-protected TCP store; sessions list/show/reset; no output shows the password")


def test_shared_health(sock):
    state, cfg = make_state("health", f"unix://{sock}?db=5", prefix="h:")
    auth_file = os.path.join(state, "agents/main/agent/auth-profiles.json")
    before = open(auth_file).read()
    a, b = Bot(cfg, state, recheck_ms=0), Bot(cfg, state, recheck_ms=0)
    kind, first, _ = b.send("agent:main:h", "hello")
    pinned = json.loads(first).get("authProfileOverride")
    if kind != "ok" or not pinned:
        fail(f"no automatic pin to start from: {kind} {first}")
    if a.send("!report", f"{pinned} rate_limit")[:2] != ("ok", "reported"):
        fail("report through process A failed")
    kind, second, _ = b.send("agent:main:h", "hello again")
    moved = json.loads(second).get("authProfileOverride")
    if moved == pinned:
        fail(f"process B did not see the cooldown process A recorded on {pinned}")
    a.close(), b.close()
    if open(auth_file).read() != before:
        fail("auth health was written to auth-profiles.json, not to the shared store")
    print(f"ok: a cooldown recorded by one process moves the other's automatic pin ({pinned} -> {moved}); "
          "auth-profiles.json untouched")


def redis_command(sock, *args):
    """One command on a fresh connection: a status/integer reply's line, or a bulk reply's body."""
    with socket.socket(socket.AF_UNIX) as c:
        c.connect(sock)
        c.settimeout(5)
        c.sendall(b"".join([b"*%d\r\n" % len(args)] + [b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode()) for a in args]))
        data = b""
        while b"\r\n" not in data:
            chunk = c.recv(65536)
            if not chunk:
                fail(f"redis closed the connection during {args[0]}")
            data += chunk
        head, _, body = data.partition(b"\r\n")
        if not head.startswith(b"$"):
            return head.decode()
        size = int(head[1:])
        while len(body) < size + 2:
            chunk = c.recv(65536)
            if not chunk:
                fail(f"redis closed the connection during {args[0]}")
            body += chunk
        return body[:size].decode()


def script_calls(sock):
    stats = redis_command(sock, "INFO", "commandstats")
    return sum(int(m.group(1)) for m in re.finditer(r"cmdstat_eval(?:sha)?:calls=(\d+)", stats))


def wait_cache_live(bot, sock, key):
    """The change subscription comes up on its own thread (slowly on a loaded machine): until it
    does nothing is cached. Waits until an ordinary message on `key` makes no script call."""
    deadline = time.time() + 10
    while True:
        before = script_calls(sock)
        bot.send(key, "hello")
        if script_calls(sock) == before:
            return
        if time.time() > deadline:
            fail("ordinary messages still reach redis after 10 s: the cache never came up")
        time.sleep(0.05)


def server_held(sock):
    """Whether the server is busy (DEBUG SLEEP): a PING gets no answer within 100 ms."""
    with socket.socket(socket.AF_UNIX) as c:
        c.connect(sock)
        c.settimeout(0.1)
        c.sendall(b"*1\r\n$4\r\nPING\r\n")
        try:
            c.recv(64)
            return False
        except socket.timeout:
            return True


def test_round_trips(sock):
    state, cfg = make_state("rt", f"unix://{sock}?db=6", prefix="rt:")
    bot = Bot(cfg, state)
    for text in ("/model sonnet", "hello", "/model status"):  # warm up: connections, scripts loaded
        bot.send("agent:main:rt", text)
    wait_cache_live(bot, sock, "agent:main:rt")
    before = script_calls(sock)
    commands = ordinary = 0
    for i in range(300):
        text = ["/model sonnet", "/model opus", "/model status", "hello there", "what next?"][i % 5]
        kind, rest, _ = bot.send("agent:main:rt", text)
        if kind != "ok":
            fail(f"{text!r}: {rest}")
        if text.startswith("/"):
            commands += 1
        else:
            ordinary += 1
    calls = script_calls(sock) - before
    bot.close()
    if calls != commands:
        fail(f"{commands} commands and {ordinary} ordinary messages made {calls} script calls on Redis "
             f"(want exactly one per command: the process's own writes must stay cached)")
    print(f"ok: {commands} commands = {calls} script calls, {ordinary} ordinary messages = none")


def test_pipelined_replay(sock):
    lines = []
    rng = random.Random(7)
    for i in range(3000):
        lines.append(rng.choice(MESSAGES) if i % 3 == 0 else f"ordinary message {i} about a/b and 3/4")
        if i % 500 == 0:
            lines.append(f"//@ session agent:main:s{i // 500}")
    transcript = os.path.join(TMP, "pipelined.txt")
    open(transcript, "w").write("\n".join(lines) + "\n")
    state_r, _ = make_state("replay-redis", f"unix://{sock}", prefix="pr:")
    state_s = os.path.join(TMP, "replay-sqlite")
    shutil.copytree(os.path.join(SRC, "fixtures/state"), state_s)
    outs = []
    for state in (state_r, state_s):
        r = subprocess.run([MODELPIN, "replay", transcript, "--state", state, "--json"], capture_output=True, text=True)
        if r.returncode != 0:
            fail(f"replay on {state} exited {r.returncode}: {r.stderr[-500:]}")
        outs.append(re.sub(r'\[\d{13},', '[0,', re.sub(r'"(at|setAt|until)":\d+', "", r.stdout.replace(state, "STATE"))))
    if outs[0] != outs[1]:
        fail("replay on Redis (pipelined writes) differs from the same replay on SQLite")
    # Another process pins the replayed session all the while: some pipelined write of the replay
    # loses its version check, and the replay must say so (exit 1), not report success.
    conflict = os.path.join(TMP, "conflict.txt")
    open(conflict, "w").write("\n".join(["/model sonnet", "/model opus"] * 4000) + "\n")
    state_c, cfg_c = make_state("replay-conflict", f"unix://{sock}", prefix="pc:")
    bot = Bot(cfg_c, state_c)
    replay = subprocess.Popen([MODELPIN, "replay", conflict, "--state", state_c], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    i = 0
    while replay.poll() is None:
        bot.send("agent:main:main", MESSAGES[i % 2])
        i += 1
    err = replay.stderr.read()
    bot.close()
    if replay.returncode == 0:
        fail(f"replay succeeded although another process changed its session {i} times meanwhile")
    if "changed in another process" not in err:
        fail(f"replay failed without naming the conflicting change: {err[-500:]}")
    print(f"ok: pipelined replay on Redis equals SQLite; a concurrent change ({i} pins) fails the replay: "
          f"{err.strip().splitlines()[-1][:160]}")


def test_unknown_write(sock):
    state, cfg = make_state("unknown", f"unix://{sock}?db=7", timeout_ms=200, prefix="uw:")
    bot = Bot(cfg, state)
    key = "agent:main:uw"
    for text in ("/model opus", "hello"):  # opus is the default: no override stored
        kind, rest, _ = bot.send(key, text)
        if kind != "ok" or json.loads(rest).get("modelOverride") is not None:
            fail(f"{text!r} before the sleep: {kind} {rest}")
    # The pin below must read its session from the bot's cache (a read that times out says
    # nothing about a write): wait for the change subscription.
    wait_cache_live(bot, sock, key)
    # Another client holds the server for 800 ms: the pin below times out in the bot (200 ms),
    # and is applied when the server wakes. The pin is sent once the hold is seen to be in effect.
    import threading
    sleeper = threading.Thread(target=redis_command, args=(sock, "DEBUG", "SLEEP", "0.8"))
    sleeper.start()
    deadline = time.time() + 5
    while not server_held(sock):
        if time.time() > deadline:
            fail("DEBUG SLEEP never held the server")
    kind, unknown, took = bot.send(key, "/model sonnet", limit_s=1.0)
    sleeper.join()
    if kind != "err" or "may have been applied" not in unknown:
        fail(f"a write whose answer timed out: {kind} {unknown!r} (want an error saying it may have been applied)")
    stored = show(cfg, state, key).get("modelOverride")
    if stored != "claude-sonnet-4-5":
        fail(f"the timed-out write did not land on redis as this test expects: {stored!r}")
    stale = 0
    for i in range(5):
        time.sleep(0.5)
        kind, rest, _ = bot.send(key, f"ordinary message {i}")
        if kind != "ok":
            fail(f"ordinary message {i} after the unknown write: {rest}")
        if json.loads(rest).get("modelOverride") != "claude-sonnet-4-5":
            stale += 1
    bot.close()
    if stale:
        fail(f"{stale} of 5 ordinary messages over 2.5 s routed on the writer's stale cache, "
             f"while redis holds claude-sonnet-4-5")
    print(f"ok: a write that timed out after {took * 1000:.0f} ms but landed: \"{unknown}\"; "
          "5 of 5 later ordinary messages route on what redis holds")


def wait_up(sock, limit=10):
    deadline = time.time() + limit
    while time.time() < deadline:
        try:
            if redis_command(sock, "PING") == "+PONG":
                return
        except OSError:
            pass
        time.sleep(0.02)
    fail("redis did not answer PING after the restart")


def test_restart_idle():
    port = free_port()
    server, sock = start_redis("idle", port=port, extra=["--appendonly", "yes", "--appendfsync", "always"])
    bots = {}
    for name, url in (("unix", f"unix://{sock}"), ("tcp", f"redis://127.0.0.1:{port}/0")):
        state, cfg = make_state(f"idle-{name}", url, timeout_ms=500, prefix="idle:")
        bots[name] = Bot(cfg, state)
        if bots[name].send(f"agent:main:idle-{name}", "/model sonnet")[0] != "ok":
            fail(f"{name}: first pin failed")
    server.kill()
    server.wait(5)
    os.unlink(sock)
    server, _ = start_redis("idle", port=port, extra=["--appendonly", "yes", "--appendfsync", "always"])
    wait_up(sock)
    time.sleep(0.3)  # idle connections, as between two users' messages
    for name, bot in bots.items():
        for text in ("/model opus", "/model sonnet"):
            kind, rest, _ = bot.send(f"agent:main:idle-{name}", text)
            if kind != "ok":
                fail(f"{name}: {text!r} after redis restarted (and is up) failed: {rest}")
        bot.close()
    print("ok: redis restarted under idle connections (unix socket and TCP): the first messages are answered")


def test_loading():
    d = os.path.join(TMP, "loading")
    server, sock = start_redis("loading", extra=["--dbfilename", "dump.rdb"])
    state, cfg = make_state("loading-state", f"unix://{sock}", timeout_ms=4000, prefix="ld:")
    bot = Bot(cfg, state)
    if bot.send("agent:main:ld", "/model sonnet")[0] != "ok":
        fail("pin before the restart failed")
    state2, cfg2 = make_state("loading-short", f"unix://{sock}", timeout_ms=150, prefix="ld:")
    short = Bot(cfg2, state2)
    if short.send("agent:main:ld2", "/model sonnet")[0] != "ok":
        fail("pin before the restart failed (short timeout)")
    redis_command(sock, "DEBUG", "POPULATE", "10000", "filler")
    if redis_command(sock, "SAVE") != "+OK":
        fail("SAVE failed")
    server.kill()
    server.wait(5)
    os.unlink(sock)
    # 10,000 keys x 50 us: LOADING for about 1 s (more on a loaded machine), answered every 1 KB read.
    t0 = time.time()
    server, _ = start_redis("loading", extra=["--dbfilename", "dump.rdb", "--key-load-delay", "50",
                                              "--loading-process-events-interval-bytes", "1024"])
    while redis_command(sock, "PING").startswith("-LOADING") is False and time.time() - t0 < 5:
        time.sleep(0.01)  # up and not loading yet: wait for the load to start
    if not redis_command(sock, "PING").startswith("-LOADING"):
        fail("redis is not loading: the test cannot show the wait")
    kind, short_err, took_short = short.send("agent:main:ld2", "hello", limit_s=1.0)
    if kind != "err" or "still loading" not in short_err or took_short > 0.5:
        fail(f"a 150 ms timeout during a 1 s load: {kind} {short_err!r} after {took_short:.2f} s")
    kind, rest, took = bot.send("agent:main:ld", "hello", limit_s=4.5)
    if kind != "ok" or json.loads(rest).get("modelOverride") != "claude-sonnet-4-5":
        fail(f"a message during LOADING (timeout 4 s): {kind} {rest!r}")
    if not redis_command(sock, "PING") == "+PONG":
        fail("redis still loading after the message")
    if took < 0.2:
        fail(f"the message took {took:.2f} s: it did not meet the load this test means to show")
    bot.close(), short.close()
    print(f"ok: LOADING waited out: the message took {took:.2f} s and was answered; with a 150 ms timeout: "
          f"\"{short_err}\" after {took_short * 1000:.0f} ms")


def test_wait_replicas():
    port = free_port()
    primary, sock = start_redis("wait-primary", port=port)
    replica, rsock = start_redis("wait-replica", port=free_port(),
                                 extra=["--replicaof", "127.0.0.1", str(port), "--repl-diskless-sync-delay", "0"])
    deadline = time.time() + 20
    while "connected_slaves:1" not in redis_command(sock, "INFO", "replication") or \
            "master_link_status:up" not in redis_command(rsock, "INFO", "replication"):
        if time.time() > deadline:
            fail("the replica did not sync within 20 s")
        time.sleep(0.05)
    state, cfg = make_state("wait-state", f"unix://{sock}", timeout_ms=300, prefix="wr:")
    c = json.load(open(cfg))
    c["modelpin"]["storeWaitReplicas"] = 1
    json.dump(c, open(cfg, "w"))
    bot = Bot(cfg, state)
    key = "agent:main:wr"
    for text in ("/model sonnet", "/model opus", "/model sonnet"):
        kind, rest, _ = bot.send(key, text)
        if kind != "ok":
            fail(f"{text!r} with a healthy replica and storeWaitReplicas 1: {rest}")
    replica.send_signal(signal.SIGSTOP)
    try:
        kind, err, took = bot.send(key, "/model opus", limit_s=1.0)
        # Bounded by the store's timeout (300 ms), plus slack for a loaded machine's scheduling.
        if kind != "err" or "only 0 of 1 replicas" not in err or took > 0.3 + 0.25:
            fail(f"a pin with the replica frozen: {kind} {err!r} after {took:.2f} s")
        # The change is on the primary (not acknowledged): the next message reads what it holds
        # (/model status writes nothing; an ordinary message may, and would wait for the replica).
        kind, rest, _ = bot.send(key, "/model status")
        if kind != "ok" or json.loads(rest).get("modelOverride") is not None:
            fail(f"the message after the unconfirmed pin: {kind} {rest!r} (the primary holds opus)")
    finally:
        replica.send_signal(signal.SIGCONT)
    ok = False
    for _ in range(50):
        if bot.send(key, "/model sonnet")[0] == "ok":
            ok = True
            break
        time.sleep(0.05)
    bot.close()
    if not ok:
        fail("pins did not succeed again after the replica woke")
    print(f"ok: storeWaitReplicas 1: pins confirmed by the replica; frozen replica: \"{err}\" after "
          f"{took * 1000:.0f} ms, the next message answered; confirmed again after SIGCONT")


TESTS = ["shared_health", "alternating", "no_lost_update", "sigstop", "restart", "password_and_cli", "round_trips",
         "pipelined_replay", "unknown_write", "restart_idle", "loading", "wait_replicas"]
try:
    server, sock = start_redis("main")
    want = os.environ.get("REDIS_TESTS", ",".join(TESTS)).split(",")
    for name in want:
        fn = globals()["test_" + name]
        if name in ("sigstop",):
            fn(server, sock)
        elif name in ("restart", "password_and_cli", "restart_idle", "loading", "wait_replicas"):
            fn()
        else:
            fn(sock)
finally:
    cleanup()
