#!/usr/bin/env node
// engine.handleSync and await engine.handle from Node against Engine::Handle from C++, on the same
// ordinary message (memory store), for bench/run.sh's table.
//
//   node bench/node_bench.js BUILD_DIR [--repetitions N] [--json]
//
// BUILD_DIR is a release build with bench/engine_bench and node/modelpin.node built (bench/run.sh
// builds them). The C++ figure is the median of Google Benchmark's BM_Route_Ordinary (CPU time, one
// reused Outcome). Node: the median over N batches of
//   sync        100,000 handleSync calls on the memory store, CPU time of the process per call
//               (the call runs on this thread alone, so it compares with the C++ CPU time);
//   async       20,000 `await engine.handle(...)` one after the other on the memory store (a
//               memory-only engine settles the Promise at once), CPU time per call, wall time too;
//   thread pool the same on a SQLite store in a temp dir (the ordinary message is served from the
//               store's cache, about the memory store's C++ cost): the trip to libuv's thread pool
//               and back that every store-backed call makes, for information.
// CPU time, as bench/python_bench.py: on this shared 2-core machine wall time mostly measures the
// other processes (a thread-pool hand-off waits for a core each way).
// Targets: sync at most 2 us over C++, async at most 15 us. Exit status 1 when one is missed.
'use strict';

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const MESSAGE = "Can you summarise yesterday's meeting notes in three bullet points?";  // as engine_bench.cc
const SESSION = 'agent:main:bench';

function args() {
  const a = process.argv.slice(2);
  const out = { build: null, repetitions: 10, json: false };
  for (let i = 0; i < a.length; i++) {
    if (a[i] === '--repetitions') out.repetitions = Number(a[++i]);
    else if (a[i] === '--json') out.json = true;
    else if (!out.build) out.build = path.resolve(a[i]);
    else { process.stderr.write('usage: node bench/node_bench.js BUILD_DIR [--repetitions N] [--json]\n'); process.exit(2); }
  }
  if (!out.build || !(out.repetitions > 0)) { process.stderr.write('usage: node bench/node_bench.js BUILD_DIR [--repetitions N] [--json]\n'); process.exit(2); }
  return out;
}

const median = (v) => { const s = [...v].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const cpuNs = () => { const u = process.cpuUsage(); return (u.user + u.system) * 1000; };

function cxxMedian(build, repetitions) {
  const out = execFileSync(path.join(build, 'bench', 'engine_bench'),
    ['--benchmark_filter=^BM_Route_Ordinary$', `--benchmark_repetitions=${repetitions}`, '--benchmark_format=json'],
    { encoding: 'utf8', maxBuffer: 64 << 20 });
  const scale = { ns: 1, us: 1e3, ms: 1e6, s: 1e9 };
  const runs = JSON.parse(out).benchmarks;
  // One repetition has no aggregates: its run is the figure.
  const b = runs.find((x) => x.aggregate_name === 'median') || runs[0];
  return b.cpu_time * scale[b.time_unit];
}

async function main() {
  const { build, repetitions, json } = args();
  process.env.MODELPIN_NODE_ADDON = path.join(build, 'node', 'modelpin.node');
  const { Engine } = require(path.join(ROOT, 'node', 'index.js'));
  const engine = new Engine({ stateDir: path.join(ROOT, 'fixtures', 'state'), sessions: ':memory:' });
  engine.handleSync('/model sonnet', { session: SESSION });
  if (!engine.handleSync(MESSAGE, { session: SESSION }).route) throw new Error('the ordinary message got no route');
  const opts = { session: SESSION };

  // Warm-up: the JIT, the thread pool's threads, the engine's caches.
  for (let i = 0; i < 50_000; i++) engine.handleSync(MESSAGE, opts);
  for (let i = 0; i < 5_000; i++) await engine.handle(MESSAGE, opts);

  // The thread-pool engine: SQLite sessions in a copy of the fixture state.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'modelpin-node-bench-'));
  process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
  fs.cpSync(path.join(ROOT, 'fixtures', 'state'), path.join(tmp, 'state'), { recursive: true });
  const pooled = new Engine({ stateDir: path.join(tmp, 'state') });
  await pooled.handle('/model sonnet', opts);
  for (let i = 0; i < 2_000; i++) await pooled.handle(MESSAGE, opts);

  const sync = [];
  const asyncWall = [];
  const asyncCpu = [];
  const poolWall = [];
  const poolCpu = [];
  for (let r = 0; r < repetitions; r++) {
    let c0 = cpuNs();
    for (let i = 0; i < 100_000; i++) engine.handleSync(MESSAGE, opts);
    sync.push((cpuNs() - c0) / 100_000);
    let n = 20_000;
    c0 = cpuNs();
    let t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await engine.handle(MESSAGE, opts);
    asyncWall.push(Number(process.hrtime.bigint() - t0) / n);
    asyncCpu.push((cpuNs() - c0) / n);
    n = 5_000;
    c0 = cpuNs();
    t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await pooled.handle(MESSAGE, opts);
    poolWall.push(Number(process.hrtime.bigint() - t0) / n);
    poolCpu.push((cpuNs() - c0) / n);
  }
  const cxx = cxxMedian(build, repetitions);
  const fig = { cxx_ns: cxx, sync_ns: median(sync), async_ns: median(asyncCpu), async_wall_ns: median(asyncWall),
    pool_ns: median(poolCpu), pool_wall_ns: median(poolWall) };
  fig.sync_overhead_ns = fig.sync_ns - cxx;
  fig.async_overhead_ns = fig.async_ns - cxx;
  if (json) {
    process.stdout.write(`${JSON.stringify(fig)}\n`);
  } else {
    const row = (what, v) => process.stdout.write(`${what.padEnd(72)} ${v.toFixed(0).padStart(10)}\n`);
    process.stdout.write(`${'call (ordinary message)'.padEnd(72)} ${'median ns'.padStart(10)}\n`);
    row('C++  Engine::Handle(msg, out), reused Outcome, memory (CPU)', cxx);
    row('Node engine.handleSync(text, {session}), memory (CPU)', fig.sync_ns);
    row('Node await engine.handle(text, {session}), memory (CPU)', fig.async_ns);
    row('Node await engine.handle(text, {session}), memory (wall)', fig.async_wall_ns);
    row('Node await engine.handle(...), SQLite, thread pool (CPU, all threads)', fig.pool_ns);
    row('Node await engine.handle(...), SQLite, thread pool (wall)', fig.pool_wall_ns);
    row('sync overhead over C++ (target <= 2,000)', fig.sync_overhead_ns);
    row('async overhead over C++ (target <= 15,000)', fig.async_overhead_ns);
  }
  process.exitCode = fig.sync_overhead_ns <= 2000 && fig.async_overhead_ns <= 15000 ? 0 : 1;
}

main().catch((e) => { process.stderr.write(`node_bench: ${e.stack}\n`); process.exit(1); });
