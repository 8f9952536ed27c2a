/**
 * Refusals before the upgrade, counted rather than logged one by one: whoever can reach a
 * listener can send them, and a line each in `daemon.log` and the audit log let 2,000 bad
 * tokens (0.7 s) roll away a good part of the audit history. The first refusal from a peer on
 * a listener is logged at once; the rest are counted, and one line per interval says how many,
 * by code. An interval without a refusal forgets the peer, so its next one is logged at once.
 *
 * A peer is the remote address on a TCP listener and "unix" on a socket (Node cannot read
 * SO_PEERCRED). Any of 127.0.0.0/8 can be a source address, so beyond MAX_PEERS counted at
 * once, new peers are counted together as "others". A line holds the route without its query
 * string, the code and the message: never the token.
 */
import type { Clock, ClockTimer } from '../../core/clock.js';
import type { Audit } from '../audit/audit.js';
import type { Logger } from '../log.js';

export interface Refusal {
  /** `unix:PATH` or `tcp:HOST:PORT`, as status names listeners. */
  readonly listener: string;
  readonly peer: string;
  readonly route: string;
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

export interface TallyOptions {
  readonly clock: Clock;
  readonly intervalMs: number;
  readonly log: Logger;
  readonly audit: Audit;
}

interface Window {
  readonly listener: string;
  readonly peer: string;
  since: number;
  /** Refusals counted since `since`, by code, with the HTTP status each code was answered with. */
  counts: Map<string, { status: number; n: number }>;
  timer: ClockTimer;
}

/** How long a peer's refusals are counted before one line says how many. */
export const REFUSAL_INTERVAL_MS = 60_000;

/** How many (listener, peer) pairs are counted apart; the rest share one count per listener. */
export const MAX_PEERS = 64;

/**
 * A refusal of credentials is an audit event: a 401, or forwarded headers from an address that
 * is no trusted proxy (a claim to be a user, made where it cannot be believed). The others
 * (403, 404, 429) are the daemon log's only.
 */
function audited(status: number, code: string): boolean {
  return status === 401 || code === 'PROXY_UNTRUSTED';
}

export class RefusalTally {
  readonly #options: TallyOptions;
  readonly #windows = new Map<string, Window>();

  constructor(options: TallyOptions) {
    this.#options = options;
  }

  /** Logs `refusal` at once when it is its peer's first on that listener in an interval, else counts it. */
  record(given: Refusal): void {
    const crowded = !this.#windows.has(keyOf(given)) && this.#windows.size >= MAX_PEERS;
    const refusal = crowded ? { ...given, peer: 'others' } : given;
    const key = keyOf(refusal);
    const window = this.#windows.get(key);
    if (window) {
      const count = window.counts.get(refusal.code);
      if (count) count.n++;
      else window.counts.set(refusal.code, { status: refusal.status, n: 1 });
      return;
    }
    const { clock, intervalMs, log, audit } = this.#options;
    const { listener, peer, route, status, code, message } = refusal;
    this.#windows.set(key, { listener, peer, since: clock.now(), counts: new Map(), timer: clock.setTimeout(() => this.#tick(key), intervalMs) });
    log('connection.refused', { listener, peer, url: route, status, code });
    if (audited(status, code)) audit.record({ event: 'token.refused', listener, peer, route, code, reason: message });
  }

  /** Writes what is counted and forgets every peer (the daemon is stopping). */
  stop(): void {
    for (const window of this.#windows.values()) {
      this.#options.clock.clearTimeout(window.timer);
      this.#summarise(window);
    }
    this.#windows.clear();
  }

  #tick(key: string): void {
    const window = this.#windows.get(key);
    if (!window) return;
    if (window.counts.size === 0) {
      this.#windows.delete(key);
      return;
    }
    this.#summarise(window);
    window.since = this.#options.clock.now();
    window.counts = new Map();
    window.timer = this.#options.clock.setTimeout(() => this.#tick(key), this.#options.intervalMs);
  }

  #summarise({ listener, peer, since, counts }: Window): void {
    if (counts.size === 0) return;
    const seconds = Math.max(1, Math.round((this.#options.clock.now() - since) / 1000));
    const all = [...counts].sort(([a], [b]) => a.localeCompare(b));
    const sum = (entries: typeof all) => entries.reduce((total, [, c]) => total + c.n, 0);
    const count = sum(all);
    const summary = `${count} refused request${count === 1 ? '' : 's'} from ${peer} on ${listener} in the last ${seconds}s: ${all.map(([code, c]) => `${code}×${c.n}`).join(', ')}`;
    this.#options.log('connection.refused', { listener, peer, count, seconds, codes: Object.fromEntries(all.map(([code, c]) => [code, c.n])), summary });
    const tokens = all.filter(([code, c]) => audited(c.status, code));
    if (tokens.length > 0) {
      this.#options.audit.record({ event: 'token.refused', listener, peer, count: sum(tokens), seconds, codes: Object.fromEntries(tokens.map(([code, c]) => [code, c.n])) });
    }
  }
}

function keyOf(refusal: Refusal): string {
  return `${refusal.listener}\n${refusal.peer}`;
}
