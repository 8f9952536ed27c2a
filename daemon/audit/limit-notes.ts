/**
 * Refusals for a subject's limits (auth/limits.ts) in the audit log, counted rather than written
 * one by one: a client over its rate tends to retry at once, and a line per refused request
 * would roll the capped log's history away. The first refusal of a subject on a server is
 * written at once with `count: 1`; later ones are counted, and one line per USE_NOTED_MS (the
 * interval `token.used` is noted at) carries how many were refused since the last line. A
 * quiet interval forgets the pair, so its next refusal is written at once again.
 *
 * Unlike `token.used`, whose uses between two lines say nothing new, the count is flushed by a
 * timer: the tail of a flood that then stops is still in the log, and so at `stop`.
 */
import type { Clock, ClockTimer } from '../../core/clock.js';
import { USE_NOTED_MS } from '../auth/access.js';
import type { Limit } from '../auth/limits.js';
import type { Audit, AuditSink } from './audit.js';
import type { Actor } from './events.js';

/** The server a `rate.limited` line names when the request's route names none of the config's (an HTTP POST to /mcp/NAME before any session). */
export const UNKNOWN_SERVER = '(unknown)';

/** `rate.limited`: a request over `requestsPerMinute`; `session.limited`: a session over `sessions`. */
export type LimitEvent = 'rate.limited' | 'session.limited';

export interface LimitNotesOptions {
  readonly clock: Clock;
  readonly audit: AuditSink;
  readonly intervalMs?: number;
}

interface Window {
  readonly event: LimitEvent;
  readonly server: string;
  readonly audit: Audit;
  since: number;
  /** Refusals since the last line. */
  count: number;
  limit: Limit;
  timer: ClockTimer;
}

export class LimitNotes {
  readonly #clock: Clock;
  readonly #sink: AuditSink;
  readonly #intervalMs: number;
  readonly #windows = new Map<string, Window>();

  constructor(options: LimitNotesOptions) {
    this.#clock = options.clock;
    this.#sink = options.audit;
    this.#intervalMs = options.intervalMs ?? USE_NOTED_MS;
  }

  /** Notes one refusal of `actor` on `server` for `limit`: written now when it is the pair's first in an interval, else counted. */
  refused(event: LimitEvent, actor: Actor, server: string, limit: Limit): void {
    const key = `${event}\0${actor.subject}\0${server}`;
    const window = this.#windows.get(key);
    if (window) {
      window.count++;
      window.limit = limit; // a reload may have changed it: the line names the one in force
      return;
    }
    const audit = this.#sink.by(actor);
    const now = this.#clock.now();
    this.#windows.set(key, { event, server, audit, since: now, count: 0, limit, timer: this.#clock.setTimeout(() => this.#tick(key), this.#intervalMs) });
    audit.record({ event, server, count: 1, limit: limit.max, setting: limit.where });
  }

  /** Writes what is counted and forgets every pair (the daemon is stopping). */
  stop(): void {
    for (const window of this.#windows.values()) {
      this.#clock.clearTimeout(window.timer);
      this.#summarise(window);
    }
    this.#windows.clear();
  }

  #tick(key: string): void {
    const window = this.#windows.get(key);
    if (!window) return;
    if (window.count === 0) {
      this.#windows.delete(key);
      return;
    }
    this.#summarise(window);
    window.since = this.#clock.now();
    window.count = 0;
    window.timer = this.#clock.setTimeout(() => this.#tick(key), this.#intervalMs);
  }

  #summarise({ event, server, audit, since, count, limit }: Window): void {
    if (count === 0) return;
    const seconds = Math.max(1, Math.round((this.#clock.now() - since) / 1000));
    audit.record({ event, server, count, seconds, limit: limit.max, setting: limit.where });
  }
}
