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
native.setErrorClass(ModelpinError);

const { Engine } = native;

// `modelpin explain REF --json`'s object: how a /model reference resolves and which credentials a
// call would try.
Engine.prototype.explain = async function explain(ref, options) {
  return JSON.parse(await this.explainJson(ref, options));
};

module.exports = { Engine, ModelpinError };
