// modelpin for Node.js: the engine in-process (docs/node.md).
//
//   const { Engine } = require('modelpin');
//   const engine = new Engine({ stateDir: 'state' });
//   const out = await engine.handle(text, { session: chatId, sender: user });
//   for (const reply of out.replies) send(chatId, reply.text);
//   if (out.route) { ... await engine.reportOutcome('main', out.sessionKey, out.route.profiles[0], 'success'); }
//
// The addon is node/build/Release/modelpin.node (npm install builds it); MODELPIN_NODE_ADDON names
// another one (the in-tree tests load the one meson built).
'use strict';

const path = require('path');

const native = require(process.env.MODELPIN_NODE_ADDON || path.join(__dirname, 'build', 'Release', 'modelpin.node'));

// An engine error: message is the text the modelpin CLI prints after "modelpin: " (the file,
// JSON path and line:column of a bad config; a store that failed, its URL's password masked).
class ModelpinError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ModelpinError';
  }
}
// The session's stored fields under OpenClaw's names (as `modelpin replay --json` prints them),
// plus modelpin's own thinkingLevel; the addon passes them positionally, undefined when unset.
function makeSession(runtime, profile, compactions, profileSource, switchPending, model, routeResolution,
  modelSource, provider, thinking) {
  const s = {};
  if (runtime !== undefined) s.agentRuntimeOverride = runtime;
  if (profile !== undefined) s.authProfileOverride = profile;
  if (compactions !== undefined) s.authProfileOverrideCompactionCount = compactions;
  if (profileSource !== undefined) s.authProfileOverrideSource = profileSource;
  if (switchPending !== undefined) s.liveModelSwitchPending = switchPending;
  if (model !== undefined) s.modelOverride = model;
  if (routeResolution !== undefined) s.modelOverrideRouteResolution = routeResolution;
  if (modelSource !== undefined) s.modelOverrideSource = modelSource;
  if (provider !== undefined) s.providerOverride = provider;
  if (thinking !== undefined) s.thinkingLevel = thinking;
  return s;
}

// What handle decided for one message, from the addon's positional values (node/src/addon.cc
// OutcomeObject): replies come as [text, isError, ...], no provider means no route, the route's
// profiles come last.
function makeOutcome(sessionKey, agent, replyPairs, provider, model, text, thinking, rule, extra,
  s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, ...profiles) {
  const replies = [];
  if (replyPairs !== undefined) {
    for (let i = 0; i < replyPairs.length; i += 2) replies.push({ text: replyPairs[i], isError: replyPairs[i + 1] });
  }
  let route = null;
  if (provider !== undefined) {
    route = { provider, model, profiles, text, thinking, rule };
    if (extra !== undefined) Object.assign(route, extra);
  }
  return { replies, route, session: makeSession(s0, s1, s2, s3, s4, s5, s6, s7, s8, s9), sessionKey, agent };
}

native.setup(ModelpinError, makeOutcome, makeSession);

const { Engine } = native;

function options(o, where) {
  if (o === undefined || o === null) return {};
  if (typeof o !== 'object') throw new TypeError(`${where} options must be an object`);
  return o;
}

// handle(text, {session, agent, sender}) -> Promise<Outcome>, on libuv's thread pool; the turns
// of one (agent, session) run in the order of the calls.
Engine.prototype.handle = function handle(text, opts) {
  const o = options(opts, 'handle');
  return this._handle(text, o.session, o.agent, o.sender);
};

// The same on this thread: engines whose sessions and auth health live in memory only.
Engine.prototype.handleSync = function handleSync(text, opts) {
  const o = options(opts, 'handleSync');
  return this._handleSync(text, o.session, o.agent, o.sender);
};

// `modelpin explain REF --json`'s object: how a /model reference resolves and which credentials a
// call would try.
Engine.prototype.explain = async function explain(ref, options) {
  return JSON.parse(await this.explainJson(ref, options));
};

module.exports = { Engine, ModelpinError };
