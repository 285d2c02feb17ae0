#!/usr/bin/env node
// A chat bot's loop on modelpin, in JavaScript: each message goes through the engine; command
// replies are posted; ordinary text is sent to the model its route names, with the route's
// credentials in order, and every call's outcome is reported so the next route rotates.
//
//   node examples/node-bot/bot.js --state DIR --model-url http://127.0.0.1:PORT/v1/messages < chat.tsv
//
// Input: one message per line, "chat<TAB>user<TAB>text". Output: one line per reply,
// "chat<TAB>text". The model endpoint here is a stand-in that takes {model, text} and the
// credential in x-api-key, and answers {text} (status 429, 401, 402, 5xx on failure), the way
// examples/xmpp-bot's model_call.cc talks to a provider. Secrets are never printed.
'use strict';

const readline = require('node:readline');
const { Engine, ModelpinError } = require(process.env.MODELPIN_PACKAGE || 'modelpin');

function usage(message) {
  process.stderr.write(`bot: ${message}\nusage: bot.js --state DIR --model-url URL [--agent ID]\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const args = { agent: '' };
  for (let i = 0; i < argv.length; i++) {
    const [name, value] = [argv[i], argv[i + 1]];
    if (name === '--help') {
      process.stdout.write('usage: bot.js --state DIR --model-url URL [--agent ID]\n  reads "chat<TAB>user<TAB>text" lines, prints "chat<TAB>reply" lines\n');
      process.exit(0);
    }
    if (!['--state', '--model-url', '--agent'].includes(name)) usage(`unknown argument ${name}`);
    if (value === undefined) usage(`${name} needs a value`);
    args[name.slice(2).replace('-url', 'Url')] = value;
    i++;
  }
  if (!args.state || !args.modelUrl) usage('--state and --model-url are required');
  return args;
}

// The error class of a failed call, for reportOutcome (as model_call.cc maps HTTP statuses).
function errorClass(status) {
  if (status === 429) return 'rate_limit';
  if (status === 401 || status === 403) return 'auth';
  if (status === 402) return 'billing';
  if (status === 404) return 'model_not_found';
  if (status === 408 || status === 0) return 'timeout';
  if (status === 503 || status === 529) return 'overloaded';
  return 'server_error';
}

async function callModel(url, route, secret) {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': secret },
      body: JSON.stringify({ model: `${route.provider}/${route.model}`, text: route.text }),
      signal: AbortSignal.timeout(10_000),
    });
    const body = await res.json().catch(() => ({}));
    if (res.ok) return { ok: true, text: String(body.text ?? '') };
    const retry = Number(res.headers.get('retry-after'));
    return { ok: false, status: res.status, retryAfterMs: Number.isFinite(retry) && retry > 0 ? retry * 1000 : 0 };
  } catch {
    return { ok: false, status: 0, retryAfterMs: 0 };
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  let engine;
  try {
    engine = await Engine.open({ stateDir: args.state });
  } catch (e) {
    process.stderr.write(`bot: ${e.message}\n`);
    process.exit(1);
  }
  const post = (chat, text) => process.stdout.write(`${chat}\t${text.replace(/\n/g, ' | ')}\n`);

  async function onMessage(chat, user, text) {
    const out = await engine.handle(text, { session: chat, agent: args.agent, sender: user });
    for (const reply of out.replies) post(chat, reply.text);
    if (!out.route) return;
    // Ordinary text: try the route's profiles in order; each outcome is reported.
    for (const profile of out.route.profiles) {
      const answer = await callModel(args.modelUrl, out.route, await engine.secretFor(out.agent, profile));
      if (answer.ok) {
        await engine.reportOutcome(out.agent, out.sessionKey, profile, 'success');
        post(chat, `${out.route.provider}/${out.route.model} (${profile}): ${answer.text}`);
        return;
      }
      await engine.reportOutcome(out.agent, out.sessionKey,
        { profile, error: errorClass(answer.status), retryAfterMs: answer.retryAfterMs });
      process.stderr.write(`bot: ${profile} failed (${answer.status}), next profile\n`);
    }
    post(chat, 'Sorry, no model could answer right now.');
  }

  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const [chat, user, ...rest] = line.split('\t');
    try {
      await onMessage(chat, user, rest.join('\t'));
    } catch (e) {
      // A store that failed: say so and keep serving the next message.
      if (!(e instanceof ModelpinError)) throw e;
      process.stderr.write(`bot: ${e.message}\n`);
      post(chat, 'Sorry, something went wrong; please try again.');
    }
  }
}

main();
