#!/usr/bin/env python3
"""Smoke checks of the benchmark programs under `meson test` (suite 'bench').

They measure nothing (tiny run times); they check that each program ran and printed its figures,
so a benchmark that silently stopped running fails a test instead of vanishing from the table.

  smoke.py google-benchmark BINARY   every benchmark the binary lists ran and printed a time
  smoke.py memory-probe BINARY       the probe printed sessions, RSS and seconds for 1,000 sessions
  smoke.py gen-transcript SCRIPT     the generator printed exactly the lines it was asked for
  smoke.py soak BINARY               the soak ran 20,000 messages over 100 sessions and printed RSS
"""
import json
import re
import subprocess
import sys


def fail(msg):
    print(f"smoke: {msg}", file=sys.stderr)
    sys.exit(1)


def google_benchmark(binary):
    names = subprocess.run([binary, "--benchmark_list_tests"], check=True, capture_output=True,
                           text=True).stdout.split()
    if not names:
        fail(f"{binary} lists no benchmarks")
    run = subprocess.run([binary, "--benchmark_min_time=0.0001", "--benchmark_format=json"],
                         check=True, capture_output=True, text=True)
    results = {b["name"]: b for b in json.loads(run.stdout)["benchmarks"]}
    for name in names:
        b = results.get(name)
        if b is None:
            fail(f"{name}: listed but printed no result")
        if b.get("error_occurred"):
            fail(f"{name}: {b.get('error_message')}")
        if not (b.get("iterations", 0) > 0 and b.get("real_time", 0) > 0):
            fail(f"{name}: no figure (iterations {b.get('iterations')}, real_time {b.get('real_time')})")
        print(f"{name}: {b['real_time']:.1f} {b.get('time_unit', 'ns')}")
    print(f"{len(names)} benchmarks ran and printed a figure")


def memory_probe(binary):
    out = subprocess.run([binary, "1000"], check=True, capture_output=True, text=True).stdout
    m = re.search(r"sessions=(\d+) .*rss_kb=(\d+) .*seconds=([0-9.]+)", out)
    if not m or int(m.group(1)) != 1000 or int(m.group(2)) <= 0:
        fail(f"memory_probe printed no figures for 1000 sessions: {out!r}")
    print(out.strip())


def soak(binary):
    out = subprocess.run([binary, "20000", "100"], check=True, capture_output=True, text=True).stdout
    m = re.search(r"messages=(\d+) sessions=(\d+) stored=(\d+) rss_first_kb=(\d+) rss_end_kb=(\d+)", out)
    if not m or int(m.group(1)) != 20000 or int(m.group(3)) != 100 or int(m.group(5)) <= 0:
        fail(f"soak printed no figures for 20000 messages over 100 sessions: {out!r}")
    print(out.strip())


def gen_transcript(script):
    run = subprocess.run([sys.executable, script, "--lines", "1000", "--seed", "8"], check=True,
                         capture_output=True, text=True)
    lines = run.stdout.splitlines()
    if len(lines) != 1000 or not any(l.startswith("/model") for l in lines):
        fail(f"gen_transcript printed {len(lines)} lines, wanted 1000 with some /model commands")
    print(f"gen_transcript: {len(lines)} lines; {run.stderr.strip()}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        fail("usage: smoke.py google-benchmark|memory-probe|gen-transcript|soak PROGRAM")
    {"google-benchmark": google_benchmark, "memory-probe": memory_probe,
     "gen-transcript": gen_transcript, "soak": soak}.get(sys.argv[1], lambda _: fail(f"unknown mode {sys.argv[1]}"))(sys.argv[2])
