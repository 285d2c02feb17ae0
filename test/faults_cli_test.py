#!/usr/bin/env python3
"""Faults through the CLI (docs/faults.md): each one fails the messages it must, says what
failed, and the next message after the fault clears is answered.

  - a full disk under the state dir (a small tmpfs): `modelpin chat` answers every line (no
    SIGBUS), says the store is full, and stores again once there is room; `doctor` says "full";
  - a malformed auth-profiles.json: chat says so for each line, stays up, and works once the file
    is repaired (exit status 1: a message failed);
  - a read-only store (a read-only bind mount): `sessions list/show`, `explain` and `doctor` read
    it; doctor says it cannot be written and does not advise moving it away;
  - a store with damaged pages, and one with a garbage row: doctor names them with a fix;
    `sessions list` reports the bad row and lists the others;
  - an unreachable Redis: doctor says unreachable, not "fix the file named";
  - `"store": ""` is an error naming $.modelpin.store.

Mounting needs root; run as another user it re-runs itself in a user and mount namespace
(unshare -rm), where it is root.

  test/faults_cli_test.py build/cli/modelpin SOURCE_ROOT
"""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

MODELPIN, SRC = sys.argv[1], sys.argv[2]
if os.geteuid() != 0 and not os.environ.get("FAULTS_UNSHARED"):
    os.environ["FAULTS_UNSHARED"] = "1"
    os.execvp("unshare", ["unshare", "-rm", sys.executable] + sys.argv)

TMP = tempfile.mkdtemp(prefix="modelpin-faults-")
MOUNTS = []
ENV = dict(os.environ, MODELPIN_NOW_MS="1800000000000", ANTHROPIC_API_KEY="", OPENROUTER_API_KEY="")
ENV.pop("MODELPIN_CONFIG", None)


def cleanup():
    while MOUNTS:
        subprocess.run(["umount", "-l", MOUNTS.pop()], check=False)
    shutil.rmtree(TMP, ignore_errors=True)


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    cleanup()
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def mount(*args):
    subprocess.run(["mount", *args], check=True)
    MOUNTS.append(args[-1])


def make_state(path, config_change=None):
    shutil.copytree(os.path.join(SRC, "fixtures/state"), path, dirs_exist_ok=True)
    os.chmod(os.path.join(path, "agents/main/agent/auth-profiles.json"), 0o600)
    if config_change:
        cfg_path = os.path.join(path, "modelpin.json")
        cfg = json.load(open(cfg_path))
        config_change(cfg)
        json.dump(cfg, open(cfg_path, "w"))
    return path


def cli(state, *args, code=None):
    p = subprocess.run([MODELPIN, *args, "--state", state], capture_output=True, text=True, env=ENV, timeout=60)
    if code is not None and p.returncode != code:
        fail(f"modelpin {' '.join(args)}: exit {p.returncode}, want {code}\nstdout: {p.stdout}\nstderr: {p.stderr}")
    return p


class Chat:
    """`modelpin chat` on pipes, a line at a time: each line's answer ends with its route or reply."""

    def __init__(self, state, env=None):
        self.p = subprocess.Popen([MODELPIN, "chat", "--state", state], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env or ENV, bufsize=1)

    def send(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        out = self.p.stdout.readline()
        if not out:
            fail(f"chat died on {line!r} (exit {self.p.wait()}): {self.p.stderr.read()[-800:]}")
        return out.rstrip("\n")

    def close(self):
        self.p.stdin.close()
        code = self.p.wait(timeout=30)
        return code, self.p.stderr.read()


def fill(path):
    """Fills the filesystem holding `path` with a file; returns the file."""
    filler = os.path.join(path, "filler")
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while True:
            os.write(fd, b"x" * 4096)
    except OSError:
        pass
    try:
        while True:
            os.write(fd, b"x")
    except OSError:
        pass
    os.close(fd)
    return filler


def test_full_disk():
    disk = os.path.join(TMP, "disk")
    os.makedirs(disk)
    mount("-t", "tmpfs", "-o", "size=1m", "tmpfs", disk)
    state = make_state(os.path.join(disk, "s"))
    p = subprocess.run([MODELPIN, "chat", "--state", state], input="/model opus@anthropic:default\n",
                       capture_output=True, text=True, env=ENV)
    check(p.returncode == 0, f"chat with room: {p.stdout} {p.stderr}")
    # Another connection (a bot) keeps the store open, so its WAL files stay; the change counter
    # file is gone (a new state dir, or cleaned up), and then the disk fills.
    holder = sqlite3.connect(os.path.join(state, "sessions.sqlite"))
    holder.execute("SELECT count(*) FROM sessions").fetchall()
    for f in os.listdir(state):
        if f.endswith("-changes"):
            os.remove(os.path.join(state, f))
    filler = fill(disk)
    chat = Chat(state)
    lines = [chat.send("/model sonnet@anthropic:default")]
    for _ in range(3):
        lines.append(chat.send("/model sonnet@anthropic:work"))
    check(all(l.startswith("error: this message was not handled:") for l in lines), f"on a full disk: {lines}")
    check(any("full" in l for l in lines), f"the error says the disk is full: {lines}")
    doc = cli(state, "doctor", code=1)
    check("full" in doc.stdout and "free space" in doc.stdout, f"doctor on a full disk:\n{doc.stdout}")
    os.remove(filler)
    answer = chat.send("/model sonnet@anthropic:default")
    check(answer.startswith("Model set to sonnet"), f"after the disk has room again: {answer}")
    answer = chat.send("hello")
    check(answer.startswith("→ anthropic/claude-sonnet-4-5 via anthropic:default"), f"ordinary message: {answer}")
    code, err = chat.close()
    holder.close()
    check(code == 1, f"chat exit status {code} after failed messages, want 1: {err}")
    shown = json.loads(cli(state, "sessions", "show", "agent:main:main", "--json", code=0).stdout)
    check(shown["entry"].get("modelOverride") == "claude-sonnet-4-5", f"stored after the fault: {shown}")
    print("faults_cli_test: full disk: chat answers every line, doctor says full, writes resume")


def test_malformed_auth_store():
    state = make_state(os.path.join(TMP, "auth"))
    store = os.path.join(state, "agents/main/agent/auth-profiles.json")
    good = open(store).read()
    # The real clock: the engine looks at the auth store again once a second of it.
    chat = Chat(state, {k: v for k, v in ENV.items() if k != "MODELPIN_NOW_MS"})
    check(chat.send("hello").startswith("→ "), "before the fault")
    open(store, "w").write('{"profiles": {"anthropic:work": ')
    time.sleep(1.1)  # the CLI looks at the auth store once a second
    for line in ("hello", "/model status", "/model sonnet"):
        answer = chat.send(line)
        check(answer.startswith("error: this message was not handled:") and "auth-profiles.json" in answer,
              f"{line!r} with a malformed auth store: {answer}")
    open(store, "w").write(good)
    os.chmod(store, 0o600)
    time.sleep(1.1)
    answer = chat.send("/model sonnet@anthropic:default")
    check(answer.startswith("Model set to sonnet"), f"after the repair: {answer}")
    check(chat.send("hello").startswith("→ anthropic/claude-sonnet-4-5"), "ordinary message after the repair")
    code, err = chat.close()
    check(code == 1, f"exit status {code}, want 1")
    print("faults_cli_test: malformed auth store: every line answered, works again once repaired")


def test_read_only_store():
    state = make_state(os.path.join(TMP, "rw"))
    p = subprocess.run([MODELPIN, "chat", "--state", state], input="/model sonnet@anthropic:default\n",
                       capture_output=True, text=True, env=ENV)
    check(p.returncode == 0, p.stderr)
    ro = os.path.join(TMP, "ro")
    os.makedirs(ro)
    mount("--bind", state, ro)
    subprocess.run(["mount", "-o", "remount,ro,bind", ro], check=True)
    listed = cli(ro, "sessions", "list", code=0).stdout
    check("agent:main:main  anthropic/claude-sonnet-4-5" in listed, f"sessions list on a read-only store: {listed}")
    cli(ro, "sessions", "show", "agent:main:main", code=0)
    ex = cli(ro, "explain", "--session", "agent:main:main", "hello")
    check(ex.returncode == 0 and "session's pin anthropic:default" in ex.stdout, f"explain on a read-only store: {ex.stdout} {ex.stderr}")
    doc = cli(ro, "doctor", code=1).stdout
    check("cannot be written" in doc and "read-only" in doc, f"doctor on a read-only store:\n{doc}")
    check("move the file away" not in doc and "move " not in doc, f"doctor must not advise moving it:\n{doc}")
    print("faults_cli_test: read-only store: list, show, explain and doctor read it; doctor says read-only")


def test_damaged_store_and_garbage_row():
    state = make_state(os.path.join(TMP, "bad"))
    lines = "/model sonnet@anthropic:default\n"
    for i in range(40):
        p = subprocess.run([MODELPIN, "chat", "--state", state, "--session", f"agent:main:s{i:02d}"], input=lines,
                           capture_output=True, text=True, env=ENV)
        check(p.returncode == 0, p.stderr)
    db = os.path.join(state, "sessions.sqlite")
    c = sqlite3.connect(db)
    c.execute("UPDATE sessions SET entry_json='not json at all' WHERE session_key='agent:main:s07'")
    c.commit()
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    c.close()
    listed = cli(state, "sessions", "list", code=1)
    check(listed.stdout.count("anthropic/claude-sonnet-4-5") == 39, f"the other sessions are listed: {listed.stdout}")
    check("agent:main:s07" in listed.stderr and "sessions reset agent:main:s07" in listed.stderr,
          f"the bad row is named: {listed.stderr}")
    doc = cli(state, "doctor", code=1).stdout
    check("main agent:main:s07" in doc and "modelpin sessions reset agent:main:s07" in doc,
          f"doctor names the garbage row:\n{doc}")
    # Damaged pages: garbage over the middle of the file (past the header page).
    size = os.path.getsize(db)
    with open(db, "r+b") as f:
        f.seek(size // 2)
        f.write(os.urandom(4096))
    doc = cli(state, "doctor", code=1).stdout
    check(("damaged" in doc and "quick_check" in doc) or "not a session store SQLite can read" in doc,
          f"doctor on damaged pages:\n{doc}")
    check("all clear" not in doc, doc)
    print("faults_cli_test: garbage row and damaged pages: doctor names them, sessions list lists the rest")


def test_unreachable_redis_and_empty_store():
    sock = os.path.join(TMP, "nowhere", "r.sock")
    state = make_state(os.path.join(TMP, "redis"), lambda c: c.update(modelpin={"store": "unix://" + sock}))
    doc = cli(state, "doctor", code=1).stdout
    check("unreachable" in doc and "fix the file named" not in doc, f"doctor with Redis down:\n{doc}")
    state = make_state(os.path.join(TMP, "empty"), lambda c: c.update(modelpin={"store": ""}))
    for args in (["chat"], ["doctor"], ["sessions", "list"]):
        p = cli(state, *args, code=1)
        check("$.modelpin.store" in p.stderr + p.stdout, f"{args}: the error names $.modelpin.store: {p.stderr}")
    print("faults_cli_test: Redis down: doctor says unreachable; \"store\": \"\" is an error naming $.modelpin.store")


try:
    test_full_disk()
    test_malformed_auth_store()
    test_read_only_store()
    test_damaged_store_and_garbage_row()
    test_unreachable_redis_and_empty_store()
finally:
    cleanup()
