/**
 * Per-subject limits (README "Limits"): how many sessions a subject may hold open and how many
 * requests it may send a minute, over all its sessions. Each comes from the highest of its
 * roles' `limits`, else from `daemon.maxSessionsPerToken` / `daemon.requestsPerMinute`; the
 * owner has none.
 *
 * The rate is a sliding window of one-second buckets per subject, the current second and the
 * 60 before it (a fixed 61 counts whatever the limit: a ring of N times would cost 8 bytes per
 * allowed request), so no more than N requests pass in any 60 s; a refused one is told when the
 * oldest counted second leaves the window (at most 61 s). It is written here rather than taken from a rate-limit library because the
 * session's gate must decide synchronously, in message order, before the next message is read,
 * and the well-kept libraries (rate-limiter-flexible's RateLimiterMemory) answer through a
 * Promise; an injected Clock also lets tests move time without sleeping.
 */
import type { Clock } from '../../core/clock.js';
import { McpdError } from '../../core/errors.js';
import type { Config } from '../config/schema.js';
import type { Id } from '../session/envelope.js';
import { roleBook } from './roles.js';
import type { Principal } from './scopes.js';

export const WINDOW_MS = 60_000;

/** A limit and the config path that sets it. */
export interface Limit {
  readonly max: number;
  readonly where: string;
}

/** A request refused for the subject's rate: when the oldest request of the window leaves it. */
export interface RateRefusal {
  readonly subject: string;
  readonly retryAfterMs: number;
  readonly limit: Limit;
}

/** The JSON-RPC error code of a request refused for its subject's rate (implementation-defined server error range). */
export const RATE_LIMIT_ERROR = -32029;

const BUCKET_MS = 1000;
/** The current second and the 60 before it: any request less than 60 s old is in one of them. */
const BUCKETS = WINDOW_MS / BUCKET_MS + 1;

/** A subject's requests by second: slot `s % BUCKETS` counts second `s` while `seconds` holds `s`. */
interface Window {
  readonly counts: Uint32Array;
  readonly seconds: Float64Array;
  /** The second of its latest request, to forget an idle subject. */
  latest: number;
}

export class SubjectLimits {
  readonly #config: () => Config;
  readonly #clock: Clock;
  readonly #windows = new Map<string, Window>();
  /** Each set of roles' highest limits, by config (null: no role sets one). */
  readonly #known = new WeakMap<Config, Map<string, Limit | null>>();
  #swept = 0;

  constructor(config: () => Config, clock: Clock) {
    this.#config = config;
    this.#clock = clock;
  }

  /** The most sessions `principal` may hold open at once; undefined for the owner. */
  sessions(principal: Principal): Limit | undefined {
    if (principal.kind === 'owner') return undefined;
    const config = this.#config();
    return this.#highest(principal, 'sessions') ?? { max: config.daemon.maxSessionsPerToken, where: 'daemon.maxSessionsPerToken' };
  }

  /** The most requests `principal` may send a minute; undefined when none is set (and for the owner). */
  rate(principal: Principal): Limit | undefined {
    if (principal.kind === 'owner') return undefined;
    const daemon = this.#config().daemon.requestsPerMinute;
    return this.#highest(principal, 'requestsPerMinute') ?? (daemon === undefined ? undefined : { max: daemon, where: 'daemon.requestsPerMinute' });
  }

  /**
   * Counts one request of `principal` (the HTTP gateway calls this per request and answers 429
   * with Retry-After; a WebSocket session's gate calls it per JSON-RPC request): undefined
   * when it may go on, else when to retry. A refused request is not counted.
   */
  take(principal: Principal): RateRefusal | undefined {
    const limit = this.rate(principal);
    if (limit === undefined) return undefined;
    const now = this.#clock.now();
    this.#sweep(now);
    const second = Math.floor(now / BUCKET_MS);
    let window = this.#windows.get(principal.subject);
    if (!window) this.#windows.set(principal.subject, (window = { counts: new Uint32Array(BUCKETS), seconds: new Float64Array(BUCKETS).fill(-Infinity), latest: second }));
    let held = 0;
    let oldest = Infinity;
    for (let i = 0; i < BUCKETS; i++) {
      if (window.seconds[i]! <= second - BUCKETS || window.counts[i] === 0) continue; // older than the window, or empty
      held += window.counts[i]!;
      oldest = Math.min(oldest, window.seconds[i]!);
    }
    if (held >= limit.max) return { subject: principal.subject, retryAfterMs: (oldest + BUCKETS) * BUCKET_MS - now, limit };
    const slot = second % BUCKETS;
    if (window.seconds[slot] !== second) {
      window.seconds[slot] = second;
      window.counts[slot] = 0;
    }
    window.counts[slot]!++;
    window.latest = second;
    return undefined;
  }

  #highest(principal: Principal, key: 'sessions' | 'requestsPerMinute'): Limit | null {
    // Asked at every request: worked out once per config and set of roles.
    const config = this.#config();
    let known = this.#known.get(config);
    if (!known) this.#known.set(config, (known = new Map()));
    const id = `${key}\0${principal.roles.join('\0')}`;
    let limit = known.get(id);
    if (limit === undefined) known.set(id, (limit = this.#highestOf(config, principal, key)));
    return limit;
  }

  #highestOf(config: Config, principal: Principal, key: 'sessions' | 'requestsPerMinute'): Limit | null {
    let best: Limit | null = null;
    for (const [name, role] of roleBook(config).held(principal)) {
      const max = role.limits?.[key];
      if (max !== undefined && (best === null || max > best.max)) best = { max, where: `roles.${name}.limits.${key}` };
    }
    return best;
  }

  /** Forgets subjects whose last request left the window, once a window: a forwarded user seen once is not kept for ever. */
  #sweep(now: number): void {
    if (now - this.#swept < WINDOW_MS) return;
    this.#swept = now;
    const second = Math.floor(now / BUCKET_MS);
    for (const [subject, window] of this.#windows) if (window.latest <= second - BUCKETS) this.#windows.delete(subject);
  }
}

function describe(refusal: RateRefusal): string {
  const seconds = Math.ceil(refusal.retryAfterMs / 1000);
  return `${refusal.subject} sent ${refusal.limit.max} requests in the last minute, the most ${refusal.limit.where} (${refusal.limit.max}) allows; retry in ${seconds} s`;
}

/** The `Retry-After` header's value (whole seconds, rounded up) for a 429. */
export function retryAfterHeader(refusal: RateRefusal): string {
  return String(Math.ceil(refusal.retryAfterMs / 1000));
}

/** The refusal as an McpdError (RATE_LIMITED, HTTP 429): the HTTP gateway's answer, with Retry-After. */
export function rateLimitError(refusal: RateRefusal, configPath: string): McpdError {
  return new McpdError('RATE_LIMITED', describe(refusal), { hint: `wait ${retryAfterHeader(refusal)} s, or raise ${refusal.limit.where} in ${configPath}` });
}

/** mcpd's JSON-RPC answer to a request refused inside a session; it never reached the server. */
export function rateLimitAnswer(id: Id, refusal: RateRefusal): string {
  const message = `mcpd: ${describe(refusal)}; the request was not passed to the server`;
  const data = { code: 'RATE_LIMITED', retryAfterMs: refusal.retryAfterMs, limit: refusal.limit.max, setting: refusal.limit.where };
  return JSON.stringify({ jsonrpc: '2.0', id, error: { code: RATE_LIMIT_ERROR, message, data } });
}
