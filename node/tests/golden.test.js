// Every golden transcript replayed through Node gives the replies, sessions and routes (with the
// rotation part: plan, fallback, each profile's health) of `modelpin replay --json`. The replay
// is modelpin's Replayer written in JavaScript: the same directive lines, the same per-step map
// of the sessions touched so far. Transcripts that move the clock or report outcomes (`//@ clock`,
// `//@ outcome`) run on a simulated clock and an in-memory copy of the auth stores, which a bot's
// engine does not have: the C++ replay test covers those (the list below counts them).
'use strict';

const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const test = require('node:test');

const { Engine } = require('..');
const { FIXTURES, cli } = require('./support');

const WS = ' \t\r\n\f\v';
const trim = (s) => {
  let a = 0;
  let b = s.length;
  while (a < b && WS.includes(s[a])) a++;
  while (b > a && WS.includes(s[b - 1])) b--;
  return s.slice(a, b);
};

function simulates(text) {
  return text.split('\n').some((line) => {
    if (!line.startsWith('//@')) return false;
    const word = trim(line.slice(3)).split(/[ \t]/)[0];
    return word === 'clock' || word === 'outcome';
  });
}

function manifest() {
  const rows = [];
  for (const line of fs.readFileSync(path.join(FIXTURES, 'transcripts', 'manifest.tsv'), 'utf8').split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const [name, config] = line.split('\t');
    const text = fs.readFileSync(path.join(FIXTURES, 'transcripts', `${name}.txt`), 'utf8');
    rows.push({ name, config, text, simulated: simulates(text) });
  }
  return rows;
}

// "2026-12-01T10:00:30Z", as replay --json prints a time.
const utc = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

async function replay(engine, transcript, sync) {
  let agent = engine.resolveAgent('');
  let sender = '';
  let session = `agent:${agent}:main`;
  const touched = [];
  const steps = [];
  for (const raw of transcript.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (!trim(line)) continue;
    if (line.startsWith('//@')) {
      const rest = trim(line.slice(3));
      const space = rest.search(/ /);
      const word = space < 0 ? rest : rest.slice(0, space);
      const arg = space < 0 ? '' : trim(rest.slice(space + 1));
      if (word === 'session') session = arg;
      else if (word === 'agent') {
        agent = engine.resolveAgent(arg);
        session = `agent:${agent}:main`;
      } else if (word === 'sender') sender = arg;
      continue;
    }
    if (line.startsWith('//')) continue;
    const opts = { session, agent, sender };
    const out = sync ? engine.handleSync(line, opts) : await engine.handle(line, opts);
    if (!touched.some(([a, k]) => a === agent && k === session)) touched.push([agent, session]);
    const sessions = {};
    for (const [a, key] of touched) {
      const state = a === agent && key === session ? { ...out.session } : await engine.session(key, { agent: a });
      delete state.thinkingLevel; // modelpin's own field; replay --json prints OpenClaw's
      sessions[key] = state;
    }
    const step = {
      step: steps.length + 1,
      input: line,
      replies: out.replies.map((r) => (r.isError ? { text: r.text, isError: true } : { text: r.text })),
      sessions,
    };
    if (out.route) {
      const r = out.route;
      const route = { text: r.text, provider: r.provider, model: r.model, profiles: r.profiles };
      if (r.thinking) route.thinking = r.thinking;
      if (r.rule) route.rule = r.rule;
      if (r.fallbackFrom) {
        route.fallbackFrom = r.fallbackFrom;
        route.fallbackReason = r.fallbackReason;
      }
      if (r.plan) route.plan = r.plan;
      route.auth = (await engine.profileHealth(r, { agent })).map((h) => {
        const o = { profile: h.profile, state: h.state };
        if (h.until) o.until = utc(h.until);
        if (h.reason) o.reason = h.reason;
        if (h.errors) o.errors = h.errors;
        return o;
      });
      step.route = route;
    }
    steps.push(step);
  }
  return steps;
}

function cxxReplay(name, config) {
  const out = execFileSync(cli(), ['replay', '--json', '--config', path.join(FIXTURES, config),
    path.join(FIXTURES, 'transcripts', `${name}.txt`)],
  { env: { PATH: process.env.PATH || '/usr/bin:/bin', MODELPIN_STATE_DIR: path.join(FIXTURES, 'state') }, encoding: 'utf8' });
  return out.split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

const rows = manifest();

test('the manifest lists the golden transcripts', () => {
  assert.ok(rows.length >= 20, `${rows.length} transcripts`);
  assert.ok(rows.filter((r) => !r.simulated).length >= 20);
});

for (const { name, config, text, simulated } of rows) {
  if (simulated) continue;  // see the top of this file
  for (const sync of [false, true]) {
    test(`${name}: ${sync ? 'handleSync' : 'await handle'} equals modelpin replay --json`, async () => {
      const engine = new Engine({ config: path.join(FIXTURES, config), stateDir: path.join(FIXTURES, 'state'),
        sessions: ':memory:', environment: {} });
      const ours = await replay(engine, text, sync);
      const theirs = cxxReplay(name, config);
      assert.ok(theirs.length > 0);
      assert.equal(ours.length, theirs.length);
      for (let i = 0; i < theirs.length; i++) {
        assert.deepStrictEqual(ours[i], theirs[i], `${name} step ${theirs[i].step}: ${theirs[i].input}`);
      }
    });
  }
}
