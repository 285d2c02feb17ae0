// The bot's loop, typed: `tsc --noEmit` checks it against the package's index.d.ts (the node
// test runs it, together with the lines marked @ts-expect-error, which must stay errors).
import { CallReport, Engine, ModelpinError, Outcome, Route } from 'modelpin';

declare function send(chat: string, text: string): void;
declare function callModel(route: Route, secret: string): Promise<boolean>;

export async function onMessage(engine: Engine, chat: string, user: string, text: string): Promise<void> {
  const out: Outcome = await engine.handle(text, { session: chat, sender: user });
  for (const reply of out.replies) send(chat, reply.isError ? `! ${reply.text}` : reply.text);
  if (out.route !== null) {
    const profile: string = out.route.profiles[0];
    const ok = await callModel(out.route, await engine.secretFor(out.agent, profile));
    await engine.reportOutcome(out.agent, out.sessionKey, profile, ok ? 'success' : 'rate_limit');
    const report: CallReport = { profile, error: 'overloaded', retryAfterMs: 1000 };
    await engine.reportOutcome(out.agent, out.sessionKey, report);
    for (const h of await engine.profileHealth(out.route)) if (h.state !== 'ok') send(chat, h.text);
  }
}

export function memoryBot(): Engine {
  const engine = new Engine({ sessions: ':memory:', strict: true });
  const out = engine.handleSync('/model sonnet', { session: 'x' });
  const model: string | undefined = engine.sessionSync('x').modelOverride;
  void out.replies.length, model;
  return engine;
}

export async function openOrExplain(): Promise<string> {
  try {
    const engine = await Engine.open({ stateDir: 'state', environment: {} });
    const why = await engine.explain('sonnet', { session: 'x' });
    return JSON.stringify(why);
  } catch (e) {
    if (e instanceof ModelpinError) return e.message;
    throw e;
  }
}

export async function misuse(engine: Engine): Promise<void> {
  // @ts-expect-error: results are one of the five names
  await engine.reportOutcome('main', 's', 'anthropic:work', 'slow');
  // @ts-expect-error: handle returns a Promise, not an Outcome
  const o: Outcome = engine.handle('hi');
  // @ts-expect-error: route may be null
  send('x', (await engine.handle('hi')).route.text);
  // @ts-expect-error: sessions is a string
  new Engine({ sessions: 3 });
  void o;
}
