// Store work runs on libuv's thread pool: while a Redis-backed handle waits on a frozen
// redis-server (SIGSTOP), the event loop keeps turning and a timer fires on schedule; the call
// completes once the server runs again, and a failed one rejects and is followed by an answered
// message. The redis-server is started here on a unix socket in a temp dir and stopped at the end
// (a missing redis-server fails the test).
'use strict';

const assert = require('node:assert/strict');
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const test = require('node:test');
const { setTimeout: sleep } = require('node:timers/promises');

const { Engine, ModelpinError } = require('..');
const { stateCopy, tempDir } = require('./support');

async function startRedis(t) {
  const dir = tempDir(t, 'modelpin-redis-');
  const sock = path.join(dir, 'r.sock');
  let exe;
  try {
    exe = execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim();
  } catch {
    assert.fail('redis-server is not installed (apt-get install redis-server)');
  }
  const proc = spawn(exe, ['--port', '0', '--unixsocket', sock, '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore' });
  t.after(() => {
    try { process.kill(proc.pid, 'SIGCONT'); } catch { /* gone */ }
    proc.kill('SIGKILL');
  });
  for (let i = 0; i < 200 && !fs.existsSync(sock); i++) await sleep(50);
  assert.ok(fs.existsSync(sock), 'redis-server did not start within 10 s');
  return { proc, sock };
}

function redisState(t, sock, timeoutMs) {
  const state = stateCopy(t);
  const file = path.join(state, 'modelpin.json');
  const cfg = JSON.parse(fs.readFileSync(file, 'utf8'));
  cfg.modelpin = { store: `unix://${sock}`, storePrefix: 'node:', storeTimeoutMs: timeoutMs };
  fs.writeFileSync(file, JSON.stringify(cfg));
  return state;
}

test('the event loop turns while a call waits on a frozen redis-server', async (t) => {
  const { proc, sock } = await startRedis(t);
  const engine = new Engine({ stateDir: redisState(t, sock, 5000), environment: {} });
  assert.equal(engine.memoryOnly, false);
  assert.throws(() => engine.handleSync('hello'), ModelpinError);
  await engine.handle('/model opus', { session: 'chat' });

  process.kill(proc.pid, 'SIGSTOP');
  const started = Date.now();
  let settledAt = 0;
  // A pin writes to the store: it waits for the frozen server.
  const call = engine.handle('/model sonnet', { session: 'chat' }).then((out) => { settledAt = Date.now(); return out; });
  const ticks = [];
  const timer = setInterval(() => ticks.push(Date.now()), 20);
  await sleep(600);
  clearInterval(timer);
  assert.equal(settledAt, 0, 'the call finished while redis-server was stopped');
  // 600 ms of 20 ms ticks: about 30 (fewer on a machine this busy); a blocked loop gives none
  // until the call returns, and could not even reach the SIGCONT below.
  assert.ok(ticks.length >= 10, `${ticks.length} timer ticks in 600 ms`);
  process.kill(proc.pid, 'SIGCONT');
  const out = await call;
  assert.ok(settledAt - started >= 600);
  assert.match(out.replies[0].text, /sonnet/);
  assert.equal((await engine.handle('hello', { session: 'chat' })).route.model, 'claude-sonnet-4-5');
  // Another engine on the same Redis sees the pin.
  const other = new Engine({ stateDir: redisState(t, sock, 5000), environment: {} });
  assert.equal((await other.session('chat')).modelOverride, 'claude-sonnet-4-5');
});

test('a store timeout rejects with ModelpinError and the next message is answered', async (t) => {
  const { proc, sock } = await startRedis(t);
  const engine = new Engine({ stateDir: redisState(t, sock, 200), environment: {} });
  await engine.handle('/model sonnet', { session: 'chat' });
  process.kill(proc.pid, 'SIGSTOP');
  const err = await engine.handle('/model opus', { session: 'chat' }).then(() => null, (e) => e);
  process.kill(proc.pid, 'SIGCONT');
  assert.ok(err instanceof ModelpinError, String(err));
  assert.match(err.message, new RegExp(sock.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  let out;
  for (let i = 0; i < 20; i++) {  // the store reconnects on the next call
    try {
      out = await engine.handle('hello again', { session: 'chat' });
      break;
    } catch (e) {
      assert.ok(e instanceof ModelpinError);
      await sleep(100);
    }
  }
  assert.ok(out, 'no answer after the server came back');
  assert.equal(out.route.text, 'hello again');
});
