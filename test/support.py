"""What the Python tests that start servers share: redis_store_test.py, redis_sentinel_test.py and
service_test.py import it (meson runs each as a script from test/, so `import support` finds this
file beside it).

  TMP = support.temp_dir("modelpin-redis-")  # removed by cleanup()
  support.PROCS.append(subprocess.Popen(...))  # stopped by cleanup()
  try:
      ...
  finally:
      support.cleanup()
"""
import shutil
import signal
import socket
import sys
import tempfile

PROCS = []  # every process a test started: cleanup() stops those still running
_DIRS = []  # the temp folders of temp_dir(): cleanup() removes them


def temp_dir(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    _DIRS.append(d)
    return d


def fail(msg):
    print("FAIL:", msg, file=sys.stderr)
    sys.exit(1)


def need(exe):
    """The path of `exe` (redis-server, redis-sentinel): a missing one is a failure, not a skip."""
    path = shutil.which(exe)
    if path is None:
        fail(f"{exe} is not installed (apt-get install {exe})")
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cleanup():
    for p in PROCS:
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGCONT)  # a test may have left it stopped (SIGSTOP)
                p.kill()
                p.wait(5)
            except Exception:
                pass
    for d in _DIRS:
        shutil.rmtree(d, ignore_errors=True)
