#!/usr/bin/env python3
"""`modelpin models auth setup-token` on a pseudo-terminal, with a stand-in `claude` on PATH.

usage: setup_token_tty.py MODELPIN STATE_DIR CONFIG

The stand-in behaves like `claude setup-token`: it needs a terminal, asks the user to press
Enter, then prints a long-lived token. modelpin must relay the prompt and the key press, take the
token and save it (masked on output, whole in the 0600 store). Without claude on PATH it must
name paste-token. Every wait has a timeout, so the test cannot hang.
"""
import json
import os
import pty
import select
import stat
import sys
import tempfile
import time

modelpin, state, config = sys.argv[1:4]
TOKEN = "sk-ant-oat01-" + "Z" * 95
failed = False


def run(path_dirs, keys):
    """Runs setup-token on a pty; types `keys` once the output shows 'Press Enter'. Returns (exit, output)."""
    env = dict(os.environ, PATH=":".join(path_dirs), MODELPIN_NOW_MS="1796119200000")
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(modelpin, [modelpin, "models", "auth", "setup-token", "--provider", "anthropic",
                             "--profile-id", "anthropic:sub", "--state", state, "--config", config], env)
    out, typed, deadline = b"", False, time.time() + 20
    while time.time() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        if not typed and b"Press Enter" in out:
            os.write(fd, keys)
            typed = True
    else:
        os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode("utf-8", "replace")


def check(name, ok, detail):
    global failed
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else ": " + detail))
    failed |= not ok


with tempfile.TemporaryDirectory() as bindir:
    claude = os.path.join(bindir, "claude")
    with open(claude, "w") as f:
        f.write("#!/bin/sh\n"
                "[ \"$1\" = setup-token ] || exit 64\n"
                "[ -t 0 ] && [ -t 1 ] || { echo 'claude setup-token needs a TTY' >&2; exit 1; }\n"
                "printf 'Sign in through your browser. Press Enter when done: '\n"
                "read answer\n"
                f"printf '\\033[32mYour OAuth token (valid for 1 year):\\033[0m\\n\\n{TOKEN}\\n\\nStore it securely.\\n'\n")
    os.chmod(claude, 0o755)
    code, out = run([bindir, "/usr/bin", "/bin"], b"\r")
    check("setup-token runs claude on a terminal and saves its token", code == 0 and
          "Saved anthropic:sub (token) for anthropic: sk-ant-o...ZZZZZZZZ" in out, f"exit {code}, output:\n{out}")
    check("the prompt of claude reaches the user", "Press Enter when done" in out, out)
    check("the saved line never shows the whole token", out.count(TOKEN) == 1, out)  # claude's own print only
    store = os.path.join(state, "agents", "rot", "agent", "auth-profiles.json")
    data = json.load(open(store))
    check("the token is in the store", data["profiles"].get("anthropic:sub", {}).get("token") == TOKEN,
          json.dumps(data["profiles"].get("anthropic:sub")))
    check("the store is 0600", stat.S_IMODE(os.stat(store).st_mode) == 0o600, oct(os.stat(store).st_mode))

    code, out = run(["/usr/bin", "/bin"] if not os.path.exists("/usr/bin/claude") else ["/nonexistent"], b"\r")
    check("without claude on PATH it names paste-token", code == 1 and "claude (Claude Code's CLI) is not on PATH" in out
          and "modelpin models auth paste-token --provider anthropic" in out, f"exit {code}, output:\n{out}")

sys.exit(1 if failed else 0)
