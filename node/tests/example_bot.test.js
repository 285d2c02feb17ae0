// examples/node-bot: the bot's loop against a stand-in model endpoint on loopback (this test's
// HTTP server), and its typed twin checked by tsc against index.d.ts.
'use strict';

const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const test = require('node:test');

const { SOURCE_ROOT, stateCopy } = require('./support');

const BOT = path.join(SOURCE_ROOT, 'examples', 'node-bot', 'bot.js');

// The stand-in model: answers "echo: <text>"; the anthropic:work token is rate-limited once.
function standIn(t) {
  const calls = [];
  let limited = false;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const { model, text } = JSON.parse(body);
      const key = req.headers['x-api-key'];
      calls.push({ model, text, key });
      if (key.startsWith('sk-ant-oat01-') && !limited) {
        limited = true;
        res.writeHead(429, { 'retry-after': '30', 'content-type': 'application/json' });
        res.end('{"error":"rate limited"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ text: `echo: ${text}` }));
    });
  });
  t.after(() => server.close());
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, calls })));
}

function runBot(args, input) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BOT, ...args], {
      env: { ...process.env, MODELPIN_PACKAGE: path.join(SOURCE_ROOT, 'node', 'index.js') },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('close', (code) => resolve({ code, stdout, stderr }));
    p.stdin.end(input);
  });
}

test('the example bot pins, calls the stand-in, rotates after a 429 and reports', async (t) => {
  const { server, calls } = await standIn(t);
  const state = stateCopy(t);
  const url = `http://127.0.0.1:${server.address().port}/v1/messages`;
  const input = [
    'c1\talice\t/model opus@anthropic:work',
    'c1\talice\thello',
    'c1\talice\tagain',
    'c2\tbob\t/model nosuchmodel@anthropic:nope',
    'c2\tbob\thi there',
  ].join('\n') + '\n';
  const r = await runBot(['--state', state, '--model-url', url], input);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0], /^c1\t.*Auth profile set to anthropic:work\./);
  // The pinned token got the 429; the next profile answered.
  assert.equal(lines[1], 'c1\tanthropic/claude-opus-4-5 (anthropic:default): echo: hello');
  // The cooling pin moved behind the provider's other profile.
  assert.equal(lines[2], 'c1\tanthropic/claude-opus-4-5 (anthropic:default): echo: again');
  assert.match(lines[3], /^c2\t/);
  assert.equal(lines[4], 'c2\tanthropic/claude-opus-4-5 (anthropic:default): echo: hi there');
  assert.equal(lines.length, 5);
  assert.deepStrictEqual(calls.map((c) => c.key.slice(0, 13)),
    ['sk-ant-oat01-', 'sk-ant-api03-', 'sk-ant-api03-', 'sk-ant-api03-']);
  const usage = JSON.parse(fs.readFileSync(path.join(state, 'agents/main/agent/auth-profiles.json'), 'utf8')).usageStats;
  assert.ok(usage['anthropic:work'].cooldownUntil > Date.now());
  assert.ok(usage['anthropic:default'].lastUsed > 0);
  // Secrets went to the model endpoint only.
  assert.ok(!/sk-ant|sk-or/.test(r.stdout + r.stderr), 'a secret was printed');
});

test('the example bot: a bad config exits 1 naming the file; bad usage exits 2; --help exits 0', async (t) => {
  const state = stateCopy(t);
  fs.writeFileSync(path.join(state, 'modelpin.json'), '{"agents": ');
  const r = await runBot(['--state', state, '--model-url', 'http://127.0.0.1:9/'], '');
  assert.equal(r.code, 1);
  assert.ok(r.stderr.includes(path.join(state, 'modelpin.json')), r.stderr);
  assert.equal((await runBot(['--state'], '')).code, 2);
  const help = await runBot(['--help'], '');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^usage: bot\.js/);
});

test('tsc --noEmit accepts the typed example and still rejects its marked misuses', () => {
  const tsc = path.join(SOURCE_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  assert.ok(fs.existsSync(tsc), `${tsc} is missing: run npm ci (./dev does)`);
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(SOURCE_ROOT, 'examples', 'node-bot', 'tsconfig.json')],
    { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
