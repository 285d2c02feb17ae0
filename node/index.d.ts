// Type declarations of the modelpin package (docs/node.md).

/** How a model call ended, the short form (Engine::ReportOutcome with a CallResult). */
export type CallResult = 'success' | 'auth_error' | 'rate_limit' | 'billing' | 'timeout';

/** The error class of a model call (engine/auth/rotation.h ErrorClass). */
export type ErrorClass =
  | 'ok' | 'rate_limit' | 'overloaded' | 'auth' | 'billing' | 'timeout' | 'server_error' | 'model_not_found';

/** What a bot knows about a model call (engine/auth/rotation.h CallReport). */
export interface CallReport {
  profile: string;
  /** Default 'ok'. */
  error?: ErrorClass;
  /** The provider's Retry-After in ms; 0 or absent when it sent none. */
  retryAfterMs?: number;
  /** "provider/model" when the failure concerns one model of the profile; absent for the whole profile. */
  model?: string;
  /** "provider/model" called, whose catalog price gives the cost; default `model` (docs/usage-and-budgets.md). */
  billedModel?: string;
  /** The tokens the call used, as the provider reported them. */
  inputTokens?: number;
  outputTokens?: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
  /** What the provider said of the profile's quota on this answer (its rate-limit headers; docs/rotation.md, quota_aware). */
  limits?: { requests?: QuotaWindow; tokens?: QuotaWindow; inputTokens?: QuotaWindow; outputTokens?: QuotaWindow };
  /** The call was a probe of a disabled profile (docs/probing.md). */
  probe?: boolean;
}

/** One reported quota window; resetAt in ms since the epoch. */
export interface QuotaWindow {
  limit: number;
  remaining: number;
  resetAt?: number;
}

export interface EngineOptions {
  /** The config file (OpenClaw's openclaw.json shape); default <stateDir>/modelpin.json (missing: OpenClaw's defaults). */
  config?: string;
  /** Holds agents/<id>/agent/auth-profiles.json, .env and, by default, sessions.sqlite. */
  stateDir?: string;
  /** Overrides the config's modelpin.strict. */
  strict?: boolean;
  /** A SQLite file, or ":memory:"; default <stateDir>/sessions.sqlite (memory without a stateDir). modelpin.store (Redis) wins. */
  sessions?: string;
  /** The variables environment credentials come from (default: this process's environment). */
  environment?: Record<string, string>;
}

export interface MessageOptions {
  /** Default "agent:<agent>:main". */
  session?: string;
  /** Default: the config's default agent. */
  agent?: string;
  /** Compared with commands.ownerAllowFrom for owner-only options. */
  sender?: string;
}

/** A reply to post to the chat; isError marks a refused command. */
export interface Reply {
  text: string;
  isError: boolean;
}

/** A later step of a route's plan (config fallbacks): the model and the profiles it would use. */
export interface RouteCandidate {
  /** "provider/model" */
  model: string;
  profiles: string[];
}

/** Where the next model call goes. */
export interface Route {
  provider: string;
  model: string;
  /** Auth profiles to try, in order (the session's pin first). */
  profiles: string[];
  /** What the model receives: directives removed, trimmed. */
  text: string;
  /** This call's own thinking level ("hello /think high"); "" = the session's. */
  thinking: string;
  /** The routing rule (config modelpin.routes) that applied; "" = none. */
  rule: string;
  /** "provider/model" of the session's model when every profile of it is cooling down and a fallback serves this call. */
  fallbackFrom?: string;
  fallbackReason?: string;
  /** The models to try after this one, when the config has fallbacks. */
  plan?: RouteCandidate[];
}

/** A session's stored fields under OpenClaw's names (as `modelpin replay --json` prints them), plus thinkingLevel. */
export interface Session {
  agentRuntimeOverride?: string;
  authProfileOverride?: string;
  authProfileOverrideCompactionCount?: number;
  authProfileOverrideSource?: string;
  liveModelSwitchPending?: boolean;
  modelOverride?: string;
  modelOverrideRouteResolution?: string;
  modelOverrideSource?: string;
  providerOverride?: string;
  thinkingLevel?: string;
}

/** What handle decided for one message. */
export interface Outcome {
  /** The replies to post (command replies; empty for ordinary text). */
  replies: Reply[];
  /** null, or the model call an ordinary message needs. */
  route: Route | null;
  /** The session's stored fields after this message. */
  session: Session;
  sessionKey: string;
  agent: string;
}

/** A profile's health (Engine::RouteHealth). */
export interface ProfileHealth {
  profile: string;
  state: 'ok' | 'cooldown' | 'model cooldown' | 'disabled' | 'expired' | 'ineligible';
  /** End of the cooldown or disable, ms since the epoch; 0 when none. */
  until: number;
  reason: string;
  errors: number;
  /** For people: "cooldown until 2026-12-01T10:00:30Z, 1 error". */
  text: string;
}

/** An engine error; message is what the modelpin CLI prints after "modelpin: ". */
export class ModelpinError extends Error {
  name: 'ModelpinError';
}

/** The modelpin engine: one per process, shared by every chat. */
export class Engine {
  /** Opens at once (reads the config, opens the stores). Throws ModelpinError. */
  constructor(options?: EngineOptions);
  /** Opens on libuv's thread pool. Rejects with ModelpinError. */
  static open(options?: EngineOptions): Promise<Engine>;
  /** True when sessions and auth health live in memory: the synchronous forms are allowed. */
  readonly memoryOnly: boolean;

  /** Handles one chat message on the thread pool; the turns of one session run in call order. */
  handle(text: string, options?: MessageOptions): Promise<Outcome>;
  /** The same on the calling thread; memory-only engines only (else ModelpinError). */
  handleSync(text: string, options?: MessageOptions): Outcome;
  /** The stored fields of a session, without handling a message. */
  session(key: string, options?: { agent?: string }): Promise<Session>;
  /** The agent's stored session keys, sorted (what `modelpin sessions list` lists). */
  sessionKeys(options?: { agent?: string }): Promise<string[]>;
  sessionSync(key: string, options?: { agent?: string }): Session;
  /** Reports how a model call went, so the next route rotates; recorded in the auth store. */
  reportOutcome(agent: string, session: string, profile: string, result: CallResult): Promise<void>;
  reportOutcome(agent: string, session: string, report: CallReport): Promise<void>;
  /** The secret behind a route's profile id, for the model call. Never log it. */
  secretFor(agent: string, profile: string): Promise<string>;
  /** The health of every profile a route concerns: its profiles in order, then those the order left out, with why. */
  profileHealth(route: Route, options?: { agent?: string }): Promise<ProfileHealth[]>;
  /** How a /model reference resolves and which credentials a call would try (`modelpin explain --json`). */
  explain(ref: string, options?: { session?: string; agent?: string }): Promise<Record<string, unknown>>;
  explainJson(ref: string, options?: { session?: string; agent?: string }): Promise<string>;
  /** The agent id the engine uses for `agent` ("" = the config's default agent). */
  resolveAgent(agent?: string): string;
}
