#!/usr/bin/python3
"""Engine.handle from Python against Engine::Handle from C++, on the same ordinary message.

    bench/python_bench.py BUILD_DIR [--repetitions N]

BUILD_DIR is a release build (`meson setup build-release -Dbuildtype=release`); the script builds
the two targets it needs, bench/engine_bench and the Python package. The C++ figures are the medians of
Google Benchmark's BM_Route_Ordinary (one reused Outcome) and BM_Route_Ordinary_Fresh (a fresh
Outcome per call); the Python figure is the median over N batches of 100,000 calls of
engine.handle(...) on the same config, session and message, which returns a new Outcome object.
All are CPU time of the calling thread, so a busy machine slows the figures less than wall time.
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import sysconfig
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
MESSAGE = "Can you summarise yesterday's meeting notes in three bullet points?"  # as engine_bench.cc
SESSION = "agent:main:bench"
BATCH = 100_000
# NOTE: a build without the benchmarks (no libbenchmark-dev) has no bench/engine_bench; ./dev
# installs it.


def build_targets(build):
    ext = f"modelpin/_modelpin{sysconfig.get_config_var('EXT_SUFFIX')}"
    targets = ["bench/engine_bench"] + [f"python/{f}" for f in (ext, "modelpin/__init__.py", "modelpin/__init__.pyi")]
    subprocess.run(["ninja", "-C", str(build), *targets], check=True, stdout=subprocess.DEVNULL)


def cxx_medians(build, repetitions):
    out = subprocess.run(
        [str(build / "bench" / "engine_bench"), "--benchmark_filter=^BM_Route_Ordinary(_Fresh)?$",
         f"--benchmark_repetitions={repetitions}", "--benchmark_format=json"],
        check=True, capture_output=True, text=True).stdout
    medians = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("aggregate_name") == "median":
            medians[b["run_name"]] = b["cpu_time"] if b["time_unit"] == "ns" else b["cpu_time"] * 1000
    return medians


def python_median(build, repetitions):
    sys.path.insert(0, str(build / "python"))
    import modelpin  # noqa: E402 - the extension of BUILD_DIR

    engine = modelpin.Engine(state_dir=str(ROOT / "fixtures" / "state"), sessions=":memory:")
    engine.handle("/model sonnet", session=SESSION)
    if engine.handle(MESSAGE, session=SESSION).route is None:
        raise SystemExit("python_bench: the ordinary message got no route")
    handle = engine.handle
    per_call = []
    for _ in range(repetitions):
        start = time.thread_time_ns()
        for _ in range(BATCH):
            handle(MESSAGE, session=SESSION)
        per_call.append((time.thread_time_ns() - start) / BATCH)
    return statistics.median(per_call)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build")
    parser.add_argument("--repetitions", type=int, default=10)
    args = parser.parse_args()
    build = pathlib.Path(args.build).resolve()
    build_targets(build)
    cxx = cxx_medians(build, args.repetitions)
    py = python_median(build, args.repetitions)
    reuse, fresh = cxx["BM_Route_Ordinary"], cxx["BM_Route_Ordinary_Fresh"]
    print(f"{'call':<52} {'median CPU ns':>14}")
    print(f"{'C++  Engine::Handle(msg, out), reused Outcome':<52} {reuse:>14.0f}")
    print(f"{'C++  Engine::Handle(msg), fresh Outcome':<52} {fresh:>14.0f}")
    print(f"{'Python engine.handle(text, session=...)':<52} {py:>14.0f}")
    print(f"{'Python overhead over the reused C++ call':<52} {py - reuse:>14.0f}")
    return 0 if py - reuse <= 2000 else 1


if __name__ == "__main__":
    sys.exit(main())
