#!/usr/bin/env python3
"""`modelpin chat` on a pseudo-terminal: prompt, line editing, tab completion, history, pins.

usage: chat_tty_test.py MODELPIN SOURCE_ROOT

Runs the chat on a pty (python's pty module, no tmux), types keys, and checks the screen: a
small VT100 model rebuilds what a terminal would show from the bytes written. Every wait has a
timeout and the whole test has an alarm, so it cannot hang; any mismatch fails with the screen.
Works on a copy of fixtures/state in a temporary dir. Without libedit (modelpin built with
-Dlibedit=disabled) only the plain prompt and the pins are checked.
"""
import codecs
import fcntl
import os
import pty
import re
import select
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import termios
import time

ROWS, COLS = 50, 200
WAIT = 10.0        # seconds for any one expected screen
TOTAL = 90         # seconds for the whole test
PROMPT = "modelpin (main)> "
CSI = re.compile(r"\x1b\[([0-9;?]*)([@-~])")


class Screen:
    """Enough of a VT100 for libedit's output: text, CR/LF/BS/TAB, and CSI cursor/erase codes."""

    def __init__(self):
        self.lines = [[]]  # scrollback and screen; the screen is the last ROWS lines
        self.r = 0
        self.c = 0
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.pending = ""  # an incomplete escape sequence
        self.raw = b""

    def _row(self):
        while len(self.lines) <= self.r:
            self.lines.append([])
        line = self.lines[self.r]
        while len(line) < self.c:
            line.append(" ")
        return line

    def _put(self, ch):
        if self.c >= COLS:
            self.r += 1
            self.c = 0
        line = self._row()
        if self.c < len(line):
            line[self.c] = ch
        else:
            line.append(ch)
        self.c += 1

    def _top(self):
        return max(0, len(self.lines) - ROWS)

    def _csi(self, params, final):
        nums = [int(p) if p.isdigit() else 0 for p in params.lstrip("?").split(";")] if params else []
        n = nums[0] if nums and nums[0] > 0 else 1
        if final == "K":
            line = self._row()
            mode = nums[0] if nums else 0
            if mode == 0:
                del line[self.c:]
            elif mode == 1:
                for i in range(min(self.c + 1, len(line))):
                    line[i] = " "
            else:
                line.clear()
        elif final == "J":
            mode = nums[0] if nums else 0
            if mode == 0:
                del self._row()[self.c:]
                del self.lines[self.r + 1:]
            elif mode == 2:
                for i in range(self._top(), len(self.lines)):
                    self.lines[i] = []
        elif final == "C":
            self.c = min(COLS - 1, self.c + n)
        elif final == "D":
            self.c = max(0, self.c - n)
        elif final == "A":
            self.r = max(self._top(), self.r - n)
        elif final == "B":
            self.r += n
        elif final == "G":
            self.c = n - 1
        elif final in "Hf":
            row = nums[0] if nums and nums[0] > 0 else 1
            col = nums[1] if len(nums) > 1 and nums[1] > 0 else 1
            self.r = self._top() + row - 1
            self.c = col - 1
        elif final == "P":
            line = self._row()
            del line[self.c:self.c + n]
        elif final == "@":
            line = self._row()
            line[self.c:self.c] = [" "] * n
        elif final == "X":
            line = self._row()
            for i in range(self.c, min(self.c + n, len(line))):
                line[i] = " "
        # m (attributes), h/l (modes), r (scroll region) and the rest change no text.

    def feed(self, data):
        self.raw += data
        text = self.pending + self.decoder.decode(data)
        self.pending = ""
        i = 0
        while i < len(text):
            ch = text[i]
            if ch == "\x1b":
                m = CSI.match(text, i)
                if m:
                    self._csi(m.group(1), m.group(2))
                    i = m.end()
                    continue
                rest = text[i + 1:]
                if not rest or re.fullmatch(r"\[[0-9;?]*", rest) or (rest[0] in "()" and len(rest) < 2):
                    self.pending = text[i:]  # the rest of the sequence comes with the next read
                    return
                i += 3 if rest[0] in "()" else 2  # ESC ( B, ESC =, ESC > ..., or a malformed CSI
                continue
            if ch == "\r":
                self.c = 0
            elif ch == "\n":
                self.r += 1
                self._row()
            elif ch == "\b":
                self.c = max(0, self.c - 1)
            elif ch == "\t":
                self.c = min(COLS - 1, (self.c // 8 + 1) * 8)
            elif ch == "\a" or ord(ch) < 32:
                pass
            else:
                self._put(ch)
            i += 1

    def text(self):
        return self.text_from(0)

    def text_from(self, row):
        return "\n".join("".join(line).rstrip() for line in self.lines[row:])

    def cursor_line(self):
        self._row()
        return "".join(self.lines[self.r]).rstrip()


class Chat:
    def __init__(self, argv, env, editing):
        self.editing = editing
        pid, fd = pty.fork()
        if pid == 0:  # child: the pty is stdin, stdout and stderr
            try:
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.screen = Screen()
        self.status = None
        self.since = 0  # screen row where the output of the last line submitted starts

    def pump(self, timeout):
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: the child closed the pty
            data = b""
        if not data:
            return False
        self.screen.feed(data)
        return True

    def expect(self, what, check, timeout=WAIT):
        deadline = time.monotonic() + timeout
        while True:
            if check(self.screen):
                return
            left = deadline - time.monotonic()
            if left <= 0 or not self.pump(min(left, 0.2)):
                if check(self.screen):
                    return
                fail(f"timed out waiting for {what}", self)

    def expect_text(self, needle, timeout=WAIT):
        """`needle` appears on the screen below the line last submitted."""
        self.expect(repr(needle) + " on screen", lambda s: needle in s.text_from(self.since), timeout)

    def expect_line(self, want, timeout=WAIT):
        """The line under the cursor reads `want` (trailing blanks ignored)."""
        self.expect(f"the cursor line to read {want!r}", lambda s: s.cursor_line() == want.rstrip(), timeout)

    def expect_prompt(self):
        """A fresh, empty prompt below the line last submitted."""
        self.expect("a new prompt", lambda s: s.r >= self.since and s.cursor_line() == PROMPT.rstrip())

    def send(self, keys):
        if self.editing:
            self.wait_raw()
        os.write(self.fd, keys.encode())

    def wait_raw(self):
        """Waits until libedit has put the terminal in raw mode. It prints the prompt first and
        turns canonical mode off only when it reads the first key, so keys typed in between are
        echoed twice by the kernel and garble the screen (the line itself is right)."""
        deadline = time.monotonic() + WAIT
        while termios.tcgetattr(self.fd)[3] & termios.ICANON:  # the slave's modes, on Linux
            if time.monotonic() > deadline:
                fail("the terminal never left canonical mode", self)
            self.pump(0.01)

    def submit(self, keys=""):
        """Types `keys` and Enter; later expectations look only at what comes after this line."""
        self.since = self.screen.r + 1
        self.send(keys + "\r")

    def wait_exit(self, timeout=WAIT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = status
                while self.pump(0.05):
                    if not select.select([self.fd], [], [], 0)[0]:
                        break
                return os.waitstatus_to_exitcode(status)
            self.pump(0.1)
        fail("modelpin chat did not exit", self)

    def kill(self):
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except OSError:
                pass
        try:
            os.close(self.fd)
        except OSError:
            pass


CHATS = []
CHECKS = 0


def fail(message, chat=None):
    print(f"chat_tty_test: FAIL: {message}", file=sys.stderr)
    if chat is not None:
        print("---- screen ----", file=sys.stderr)
        print(chat.screen.text(), file=sys.stderr)
        print(f"---- cursor line: {chat.screen.cursor_line()!r}", file=sys.stderr)
        print(f"---- last raw bytes: {chat.screen.raw[-400:]!r}", file=sys.stderr)
    for c in CHATS:
        c.kill()
    sys.exit(1)


def check(name):
    global CHECKS
    CHECKS += 1
    print(f"check: {name}", flush=True)


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    binary, source_root = os.path.abspath(sys.argv[1]), sys.argv[2]
    signal.signal(signal.SIGALRM, lambda *_: fail(f"the whole test took over {TOTAL} s"))
    signal.alarm(TOTAL)

    work = tempfile.mkdtemp(prefix="chat_tty_test.")
    try:
        state = os.path.join(work, "state")
        shutil.copytree(os.path.join(source_root, "fixtures", "state"), state)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": work, "TERM": "vt100",
               "LANG": "C.UTF-8", "MODELPIN_NOW_MS": "1767225600000"}
        argv = [binary, "chat", "--state", state]

        helptext = subprocess.run([binary, "chat", "--help"], capture_output=True, text=True, timeout=WAIT,
                                  env=env).stdout
        check("--help describes the terminal side")
        for needle in ["usage: modelpin chat", "chat_history", "TAB completes", "/model opus@anth<TAB>",
                       "line editing"]:
            if needle not in helptext:
                fail(f"chat --help lacks {needle!r}:\n{helptext}")
        editing = "line editing on" in helptext
        history = os.path.join(state, "chat_history")

        # ---- first run: pin, completion of a subcommand and of a profile id, history ----------
        chat = Chat(argv, env, editing)
        CHATS.append(chat)
        check("banner and prompt")
        chat.expect_text("modelpin chat: agent main, session agent:main:main")
        chat.expect_prompt()

        check("/model sonnet is acknowledged")
        chat.submit("/model sonnet")
        chat.expect_text("Model set to sonnet (anthropic/claude-sonnet-4-5) for this session only")
        chat.expect_prompt()

        if editing:
            check("/model st<TAB> completes to /model status")
            chat.send("/model st")
            chat.expect_line(PROMPT + "/model st")
            chat.send("\t")
            chat.expect_line(PROMPT + "/model status")
            check("Enter shows the status view")
            chat.submit("")
            chat.expect_text("Auth store: ~/state/agents/main/agent/auth-profiles.json")
            chat.expect_text("  • anthropic/claude-sonnet-4-5 (sonnet)")
            chat.expect_prompt()

            check("/verbose f<TAB> completes a value the plugin declares")
            chat.send("/verbose f")
            chat.expect_line(PROMPT + "/verbose f")
            chat.send("\t")
            chat.expect_line(PROMPT + "/verbose full")
            chat.submit("")
            chat.expect_text("Verbose logging set to full.")
            chat.expect_prompt()

            check("/mod<TAB><TAB> lists /model and /models")
            chat.send("/mod")
            chat.expect_line(PROMPT + "/mod")
            chat.send("\t")
            chat.expect_line(PROMPT + "/model")  # the common prefix of /model and /models
            chat.send("\t")
            chat.expect(
                "a list with /model and /models",
                lambda s: re.search(r"(^|\s)/model\s+/models(\s|$)", s.text(), re.M) is not None)
            chat.expect_line(PROMPT + "/model")  # the line is redrawn below the list
            check("/model sonnet@anth<TAB> completes the profile id up to anthropic:, w<TAB> to anthropic:work")
            chat.send(" sonnet@anth\t")
            chat.expect_line(PROMPT + "/model sonnet@anthropic:")
            chat.send("w\t")
            chat.expect_line(PROMPT + "/model sonnet@anthropic:work")
            chat.submit("")
            chat.expect_text("Auth profile set to anthropic:work")
            chat.expect_prompt()

            check("inline /model anthropic/claude-opus-4-<TAB><TAB> lists -4-5 and -4-8")
            chat.send("hello /model anthropic/claude-opus-4-\t")
            chat.expect_line(PROMPT + "hello /model anthropic/claude-opus-4-")  # -4-5 and -4-8
            chat.send("\t")
            chat.expect_text("anthropic/claude-opus-4-5")
            chat.expect_text("anthropic/claude-opus-4-8")
            chat.submit("8")
            chat.expect_text("Model set to anthropic/claude-opus-4-8")
            chat.expect_text("→ anthropic/claude-opus-4-8 via")
            chat.expect_prompt()
            chat.submit("/model sonnet@anthropic:work")
            chat.expect_text("Model set to sonnet (anthropic/claude-sonnet-4-5)")
            chat.expect_prompt()

            check("a line that looks like a key is answered but not kept in the history")
            chat.submit("my key is sk-ant-api03-" + "Z" * 40)
            chat.expect_text("→ anthropic/claude-sonnet-4-5 via anthropic:work")
            chat.expect_prompt()

        check("/quit ends the chat with status 0")
        chat.submit("/quit")
        rc = chat.wait_exit()
        if rc != 0:
            fail(f"exit status {rc}", chat)

        if editing:
            check("history file: 0600, holds the completed lines, no secret, no /quit")
            if not os.path.exists(history):
                fail(f"{history} was not written")
            mode = stat.S_IMODE(os.stat(history).st_mode)
            if mode != 0o600:
                fail(f"{history} has mode {mode:o}, want 600")
            saved = open(history, "rb").read().decode("utf-8", "replace").replace("\\040", " ")
            for needle in ["/model sonnet", "/model status", "/model sonnet@anthropic:work"]:
                if needle not in saved:
                    fail(f"history lacks {needle!r}:\n{saved}")
            for needle in ["ZZZZZZZZ", "/quit"]:
                if needle in saved:
                    fail(f"history holds {needle!r}:\n{saved}")
        elif os.path.exists(history):
            fail("a build without line editing wrote a history file")

        # ---- second run: the pin persisted; Up recalls the last line; Ctrl-D leaves ----------
        chat = Chat(argv, env, editing)
        CHATS.append(chat)
        chat.expect_prompt()
        check("the pin persisted: /model shows Current: anthropic/claude-sonnet-4-5")
        chat.submit("/model")
        chat.expect_text("Current: anthropic/claude-sonnet-4-5")
        chat.expect_prompt()
        if editing:
            check("Up recalls the previous lines, from this run and the last")
            chat.send("\x1b[A")
            chat.expect_line(PROMPT + "/model")
            chat.send("\x1b[A")
            chat.expect_line(PROMPT + "/model sonnet@anthropic:work")
            check("Ctrl-A, Ctrl-K edit the line")
            chat.submit("\x01\x0b/model status")
            chat.expect_text("Current: anthropic/claude-sonnet-4-5")
            chat.expect_prompt()
            check("Ctrl-D on an empty line ends the chat with status 0")
            chat.send("\x04")
        else:
            chat.submit("/quit")
        rc = chat.wait_exit()
        if rc != 0:
            fail(f"exit status {rc}", chat)
        for c in CHATS:
            c.kill()
        print(f"chat_tty_test: {CHECKS} checks passed (line editing {'on' if editing else 'off'})")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
