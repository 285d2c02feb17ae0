// The JavaScript API: handle (Promise and sync), sessions, reportOutcome, secretFor,
// profileHealth, explain, errors (each followed by a message that must be answered), many
// concurrent calls on one engine, and the order of one session's turns.
'use strict';

const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const test = require('node:test');

const { Engine, ModelpinError } = require('..');
const { FIXTURES, cli, stateCopy, tempDir } = require('./support');

const engineOn = (state, extra = {}) => new Engine({ stateDir: state, environment: {}, ...extra });

// After an error the engine still answers: the next message gets its route.
async function stillAnswers(engine) {
  const out = await engine.handle('are you still there?', { session: 'after-error' });
  assert.equal(out.route.text, 'are you still there?');
}

test('a pin, then an ordinary message routes to the pinned profile', async (t) => {
  const engine = engineOn(stateCopy(t));
  let out = await engine.handle('/model opus@anthropic:work', { session: 'chat-42', agent: 'main', sender: 'alice' });
  assert.deepStrictEqual(out.replies, [{
    text: 'Session model reset to configured default (opus (anthropic/claude-opus-4-5)). Auth profile set to anthropic:work.',
    isError: false,
  }]);
  assert.equal(out.route, null);
  assert.equal(out.session.authProfileOverride, 'anthropic:work');
  assert.equal(out.session.authProfileOverrideSource, 'user');
  out = await engine.handle('hello there', { session: 'chat-42', agent: 'main' });
  assert.deepStrictEqual(out.replies, []);
  assert.deepStrictEqual(out.route, {
    provider: 'anthropic', model: 'claude-opus-4-5', profiles: ['anthropic:work', 'anthropic:default'],
    text: 'hello there', thinking: '', rule: '',
  });
  assert.equal(out.sessionKey, 'chat-42');
  assert.equal(out.agent, 'main');
});

test('sessions persist in the state dir (SQLite) and a second engine reads them', async (t) => {
  const state = stateCopy(t);
  const first = engineOn(state);
  assert.equal(first.memoryOnly, false);
  await first.handle('/model sonnet', { session: 'chat-1' });
  const again = engineOn(state);
  assert.equal((await again.session('chat-1')).modelOverride, 'claude-sonnet-4-5');
  assert.ok(fs.existsSync(path.join(state, 'sessions.sqlite')));
});

test('sessionKeys lists the stored sessions as `modelpin sessions list` does', async (t) => {
  const state = stateCopy(t);
  const engine = engineOn(state);
  for (const key of ['chat-b', 'chat-a']) await engine.handle('/model sonnet', { session: key });
  const keys = await engineOn(state).sessionKeys();
  assert.deepEqual(keys, ['chat-a', 'chat-b']);
  const listed = spawnSync(cli(), ['sessions', 'list', '--json', '--state', state], { encoding: 'utf8' }).stdout;
  for (const key of keys) assert.ok(listed.includes(key), `the CLI lists ${key}: ${listed}`);
  assert.deepEqual(await engine.sessionKeys({ agent: 'ops' }), []);  // another agent's sessions are its own
  assert.throws(() => engine.sessionKeys(5), TypeError);
  assert.equal((await engine.handle('hello', { session: 'chat-a' })).route.model, 'claude-sonnet-4-5');
});

test('Engine.open opens on the thread pool; its errors reject with ModelpinError', async (t) => {
  const engine = await Engine.open({ stateDir: stateCopy(t), environment: {} });
  assert.ok(engine instanceof Engine);
  assert.equal((await engine.handle('hi')).route.model, 'claude-opus-4-5');
  await assert.rejects(Engine.open({ config: path.join(tempDir(t), 'nothere.json') }),
    (e) => e instanceof ModelpinError && /nothere\.json/.test(e.message));
});

test('the synchronous forms run on memory-only engines and are refused on a store', async (t) => {
  const state = stateCopy(t);
  const memory = engineOn(state, { sessions: ':memory:' });
  assert.equal(memory.memoryOnly, true);
  memory.handleSync('/model sonnet', { session: 's' });
  assert.equal(memory.handleSync('hello', { session: 's' }).route.model, 'claude-sonnet-4-5');
  assert.equal(memory.sessionSync('s').modelOverride, 'claude-sonnet-4-5');
  const stored = engineOn(state);
  assert.throws(() => stored.handleSync('hello'), (e) => e instanceof ModelpinError && /await engine\.handle/.test(e.message));
  assert.throws(() => stored.sessionSync('s'), ModelpinError);
  await stillAnswers(stored);
  assert.equal(new Engine().memoryOnly, true);  // no state at all: OpenClaw's defaults in memory
});

test('a rate limit rotates to the next profile and shows in its health', async (t) => {
  const state = stateCopy(t);
  const engine = engineOn(state);
  const first = (await engine.handle('hello', { session: 's' })).route;
  await engine.reportOutcome('main', 's', first.profiles[0], 'rate_limit');
  const second = (await engine.handle('hello', { session: 's' })).route;
  assert.notEqual(second.profiles[0], first.profiles[0]);
  assert.ok(second.profiles.includes(first.profiles[0]));
  const usage = JSON.parse(fs.readFileSync(path.join(state, 'agents/main/agent/auth-profiles.json'), 'utf8')).usageStats;
  assert.ok(usage[first.profiles[0]].cooldownUntil > Date.now());
  const health = await engine.profileHealth(second);
  const cooling = health.find((h) => h.profile === first.profiles[0]);
  assert.equal(cooling.state, 'cooldown');
  assert.equal(cooling.errors, 1);
  assert.ok(cooling.until > Date.now() && cooling.until <= Date.now() + 31_000);
  assert.match(cooling.text, /^cooldown until \d{4}-\d\d-\d\dT/);
  assert.equal(health.find((h) => h.profile === second.profiles[0]).state, 'ok');
});

test('reportOutcome takes a CallReport: error class, Retry-After, one model', async (t) => {
  const state = stateCopy(t);
  const engine = engineOn(state);
  const route = (await engine.handle('hello', { session: 's' })).route;
  const profile = route.profiles[0];
  await engine.reportOutcome('main', 's', { profile, error: 'overloaded' });
  assert.equal((await engine.profileHealth(route)).find((h) => h.profile === profile).state, 'ok');  // overloads change nothing
  await engine.reportOutcome('main', 's', { profile, error: 'billing' });
  const h = (await engine.profileHealth(route)).find((x) => x.profile === profile);
  assert.equal(h.state, 'disabled');
  assert.equal(h.reason, 'billing');
  await engine.reportOutcome('main', 's', { profile, error: 'ok' });
  assert.equal((await engine.profileHealth(route)).find((x) => x.profile === profile).state, 'ok');
  await engine.reportOutcome('main', 's', { profile, error: 'rate_limit', model: `${route.provider}/${route.model}`, retryAfterMs: 5000 });
  assert.equal((await engine.profileHealth(route)).find((x) => x.profile === profile).state, 'model cooldown');
});

test('bad arguments are TypeError or RangeError naming the valid values', async (t) => {
  const engine = engineOn(stateCopy(t), { sessions: ':memory:' });
  assert.throws(() => engine.reportOutcome('main', 's', 'anthropic:work', 'slow'),
    (e) => e instanceof RangeError && /rate_limit/.test(e.message) && /'slow'/.test(e.message));
  assert.throws(() => engine.reportOutcome('main', 's', { profile: 'anthropic:work', error: 'meh' }),
    (e) => e instanceof RangeError && /model_not_found/.test(e.message));
  assert.throws(() => engine.handle(42), TypeError);
  assert.throws(() => engine.handle('hi', { session: 7 }), /options\.session must be a string/);
  assert.throws(() => new Engine({ strict: 'yes' }), /options\.strict must be a boolean/);
  assert.throws(() => new Engine({ environment: { A: 1 } }), /environment values must be strings/);
  await stillAnswers(engine);
});

test('secretFor returns the stored secret; an unknown profile is a ModelpinError', async (t) => {
  const engine = engineOn(stateCopy(t));
  assert.match(await engine.secretFor('main', 'anthropic:work'), /^sk-ant-oat01-BBBB/);
  await assert.rejects(engine.secretFor('main', 'anthropic:nosuch'), ModelpinError);
  await stillAnswers(engine);
});

test('a refused command is a reply with isError, not an exception', async (t) => {
  const engine = engineOn(stateCopy(t));
  const out = await engine.handle('/model opus@openrouter:default', { session: 's' });
  assert.equal(out.replies.length, 1);
  assert.equal(out.replies[0].isError, true);
  await stillAnswers(engine);
});

for (const bad of ['config-missing-comma.json', 'config-primary-number.json', 'config-truncated.json']) {
  test(`${bad}: ModelpinError with the CLI's message`, async (t) => {
    const state = tempDir(t);
    const config = path.join(FIXTURES, 'bad', bad);
    let err;
    try {
      new Engine({ config, stateDir: state });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof ModelpinError && err instanceof Error, String(err));
    assert.equal(err.name, 'ModelpinError');
    const p = spawnSync(cli(), ['models', 'status', '--config', config, '--state', state], { encoding: 'utf8' });
    assert.equal(p.status, 1);
    assert.equal(p.stderr.trim(), `modelpin: ${err.message}`);
    assert.ok(err.message.includes(config));
    await assert.rejects(Engine.open({ config, stateDir: state }), (e) => e.message === err.message);
    await stillAnswers(new Engine({ stateDir: stateCopy(t), environment: {} }));
  });
}

test('a missing explicit config names the file; none at all runs on OpenClaw defaults', async (t) => {
  assert.throws(() => new Engine({ config: path.join(tempDir(t), 'nope.json') }), /nope\.json/);
  const e = new Engine();
  const out = await e.handle('/model status');
  assert.ok(out.replies[0].text.includes('anthropic/claude-opus-4-5'));
  assert.equal((await e.handle('hello')).route.provider, 'anthropic');
});

test('explain gives the object of `modelpin explain --json`', async (t) => {
  const state = stateCopy(t);
  const engine = engineOn(state);
  const ours = await engine.explain('sonnet@anthropic:work');
  const p = spawnSync(cli(), ['explain', 'sonnet@anthropic:work', '--json', '--state', state],
    { encoding: 'utf8', env: { PATH: process.env.PATH } });
  assert.equal(p.status, 0, p.stderr);
  assert.deepStrictEqual(ours, JSON.parse(p.stdout));
  assert.ok(JSON.stringify(ours).includes('claude-sonnet-4-5'));
});

test('a routing rule gives its model and order and names itself', async (t) => {
  const engine = engineOn(stateCopy(t), { config: path.join(FIXTURES, 'config', 'pins-routes.json') });
  let r = (await engine.handle('hello', { session: 'agent:main:telegram:group:-1' })).route;
  assert.deepStrictEqual([r.model, r.profiles, r.rule], ['claude-haiku-4-5', ['anthropic:work'], 'groups']);
  r = (await engine.handle('hello', { session: 'agent:main:main' })).route;
  assert.deepStrictEqual([r.model, r.rule], ['claude-opus-4-5', '']);
});

test('one engine serves many concurrent handle calls; one session keeps its order', async (t) => {
  for (const sessions of [':memory:', undefined]) {  // memory, then SQLite
    const engine = engineOn(stateCopy(t), sessions ? { sessions } : {});
    const calls = [];
    const expect = [];
    for (let round = 0; round < 50; round++) {
      for (let n = 0; n < 8; n++) {
        // Not awaited: each session's pin must still be applied before the message that follows it.
        const pin = (round + n) % 2 ? 'opus@anthropic:work' : 'sonnet@anthropic:default';
        calls.push(engine.handle(`/model ${pin}`, { session: `chat-${n}` }));
        calls.push(engine.handle(`hello ${round}`, { session: `chat-${n}` }));
        expect.push(null, (round + n) % 2 ? ['claude-opus-4-5', 'anthropic:work'] : ['claude-sonnet-4-5', 'anthropic:default']);
      }
    }
    const outs = await Promise.all(calls);
    outs.forEach((out, i) => {
      if (expect[i] === null) assert.equal(out.route, null);
      else assert.deepStrictEqual([out.route.model, out.route.profiles[0]], expect[i], `call ${i}`);
    });
  }
});
