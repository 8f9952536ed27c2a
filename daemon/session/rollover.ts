/**
 * Rollover: a session's server moved onto fresh values without the host app noticing
 * (docs/architecture.md "State machines").
 *
 *   idle ──roll──▶ preparing ──same values──▶ idle (nothing happens; the log says so)
 *                      │
 *                      └──changed──▶ warming (new instance started, handshake replayed)
 *                                      │ initialize answered        │ fails / no answer in time
 *                                      ▼                            ▼
 *                                   draining (new client requests held;  retrying ──backoff──▶ preparing
 *                                   the old instance finishes its own)   (the old one keeps serving)
 *                                      │ nothing in flight, or the bound passed (those get errors)
 *                                      ▼
 *                                   switch (held requests go to the new one) ──▶ old shut down ──▶ idle
 *
 * With `rollover: false` a roll restarts the server by closing the session with a reason, so the
 * host app reconnects. The session does the message work (RollHost); this file decides when.
 */
import type { Clock, ClockTimer } from '../../core/clock.js';
import { McpdError } from '../../core/errors.js';
import type { Prepared, ServerInstance } from '../supervisor/server-instance.js';

export interface RollDeps {
  /** Resolves the server's references afresh. */
  readonly prepare: () => Promise<Prepared>;
  /** Gives back what an unused launch holds (its leases). */
  readonly discard: (launch: Prepared) => Promise<void>;
  /** A new instance of the server whose first start uses `launch`. */
  readonly newInstance: (launch: Prepared) => ServerInstance;
  readonly clock: Clock;
  /** Retries after a failed roll: initialMs doubling up to maxMs. */
  readonly backoff: { readonly initialMs: number; readonly maxMs: number };
  /** How long the new instance may take to answer initialize, and the old one to finish its requests. */
  readonly drainMs: number;
  /** The server's `rollover` setting: false restarts and closes the session instead. */
  readonly enabled: boolean;
  /** The server's `ttl`: values live this long before a roll. */
  readonly ttlMs?: number;
}

/** What the rollover asks of its session. */
export interface RollHost {
  readonly server: string;
  /** The instance serving the client now. */
  current(): ServerInstance;
  note(message: string): void;
  /** Starts `next` beside the current instance, replays the client's handshake; resolves on its initialize answer. */
  warmUp(next: ServerInstance): Promise<void>;
  /** From now on new client requests wait; resolves once the current instance has nothing in flight either way. */
  hold(): Promise<void>;
  /** Answers every request still in flight on the current instance with a JSON-RPC error. */
  failInflight(message: string): void;
  /** Makes `next` current and sends it the held messages; returns the old instance. */
  switchTo(next: ServerInstance): ServerInstance;
  /** Warming failed: forget `next` (the caller stops it). */
  abandon(next: ServerInstance): void;
  /** The `rollover: false` path: the session closes with this reason. */
  close(reason: string): Promise<void>;
}

export type RollOutcome = 'rolled' | 'unchanged' | 'retrying' | 'closed';

export class Rollover {
  readonly #host: RollHost;
  readonly #deps: RollDeps;
  #running: Promise<RollOutcome> | undefined;
  #retry: ClockTimer | undefined;
  #ttl: ClockTimer | undefined;
  #failures = 0;
  #problem: string | undefined;
  #stopped = false;

  constructor(host: RollHost, deps: RollDeps) {
    this.#host = host;
    this.#deps = deps;
  }

  /** Why the last roll failed and when the next try is; undefined when all is well. */
  get problem(): string | undefined {
    return this.#problem;
  }

  /**
   * Starts the ttl countdown for the values the current instance runs with; `since` (ms), when the
   * instance started before the session did (a warm pool's), counts the time it already ran.
   */
  arm(since?: number): void {
    this.#clear('ttl');
    const ttl = this.#deps.ttlMs;
    if (ttl === undefined || this.#stopped) return;
    const ran = since === undefined ? 0 : Math.max(0, this.#deps.clock.now() - since);
    this.#ttl = this.#deps.clock.setTimeout(() => {
      this.#ttl = undefined;
      void this.roll(`its ttl of ${ttl / 1000} s has passed`);
    }, Math.max(0, ttl - ran));
  }

  /** Moves the session onto fresh values; a roll already under way is joined, a waiting retry runs now. */
  roll(reason: string): Promise<RollOutcome> {
    this.#clear('retry');
    this.#running ??= this.#attempt(reason).finally(() => { this.#running = undefined; });
    return this.#running;
  }

  /** The session is over: no more timers. */
  stop(): void {
    this.#stopped = true;
    this.#clear('retry');
    this.#clear('ttl');
  }

  async #attempt(reason: string): Promise<RollOutcome> {
    const host = this.#host;
    if (!this.#deps.enabled) {
      await host.close(`server "${host.server}" needs fresh values (${reason}) and is configured "rollover": false; reconnect to get a new process`);
      return 'closed';
    }
    let next: ServerInstance | undefined;
    try {
      const launch = await this.#deps.prepare();
      if (this.#stopped) return this.#discard(launch);
      const running = host.current().launch;
      if (running && sameValues(running, launch)) {
        host.note(`roll (${reason}): the fresh values equal the running ones; nothing to do`);
        await this.#deps.discard(launch);
        return this.#settled('unchanged');
      }
      host.note(`rolling onto fresh values (${reason})`);
      next = this.#deps.newInstance(launch);
      await this.#bounded(host.warmUp(next), 'the new process did not answer initialize');
    } catch (error) {
      if (next) {
        host.abandon(next);
        await next.stop();
      }
      return this.#failed(error);
    }
    await this.#drain();
    const old = host.switchTo(next);
    host.note(`rolled onto a new process (pid ${next.pid ?? '-'}); shutting down the old one (pid ${old.pid ?? '-'})`);
    await old.stop();
    return this.#settled('rolled');
  }

  /** Holds new requests while the old instance finishes its own, up to the bound. */
  async #drain(): Promise<void> {
    try {
      await this.#bounded(this.#host.hold(), 'the old process did not finish its requests');
    } catch {
      const seconds = this.#deps.drainMs / 1000;
      this.#host.note(`the old process still had requests in flight after ${seconds} s; they get errors`);
      this.#host.failInflight(`server "${this.#host.server}" was rolled onto fresh values and its old process did not answer this request within ${seconds} s`);
    }
  }

  #bounded(work: Promise<void>, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = this.#deps.clock.setTimeout(() => reject(new McpdError('ROLLOVER_FAILED', `server "${this.#host.server}": ${what} within ${this.#deps.drainMs / 1000} s`, {
        hint: 'raise daemon.rollover.drainTimeout, or look at the server\'s log (mcpd logs NAME)',
      })), this.#deps.drainMs);
      work.then(resolve, reject).finally(() => this.#deps.clock.clearTimeout(timer));
    });
  }

  #settled(outcome: RollOutcome): RollOutcome {
    this.#failures = 0;
    this.#problem = undefined;
    this.arm();
    return outcome;
  }

  async #discard(launch: Prepared): Promise<RollOutcome> {
    await this.#deps.discard(launch);
    return 'unchanged';
  }

  #failed(error: unknown): RollOutcome {
    const { initialMs, maxMs } = this.#deps.backoff;
    const delay = Math.min(initialMs * 2 ** this.#failures, maxMs);
    this.#failures += 1;
    const why = error instanceof Error ? error.message : String(error);
    this.#problem = `${why} (attempt ${this.#failures}; next try in ${delay / 1000} s)`;
    this.#host.note(`roll failed, the old process keeps serving: ${this.#problem}`);
    if (!this.#stopped) {
      this.#retry = this.#deps.clock.setTimeout(() => {
        this.#retry = undefined;
        void this.roll('retrying a failed roll');
      }, delay);
    }
    return 'retrying';
  }

  #clear(which: 'retry' | 'ttl'): void {
    const timer = which === 'retry' ? this.#retry : this.#ttl;
    if (timer) this.#deps.clock.clearTimeout(timer);
    if (which === 'retry') this.#retry = undefined;
    else this.#ttl = undefined;
  }
}

/** Whether two launches would give the server the same process (command, args, cwd and the env, compared sorted), or a remote server the same URL and headers. */
export function sameValues(a: Prepared, b: Prepared): boolean {
  const sorted = (values: Readonly<Record<string, string>>) => JSON.stringify(Object.entries(values).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
  if ('kind' in a || 'kind' in b) return 'kind' in a && 'kind' in b && a.url === b.url && a.transport === b.transport && sorted(a.headers) === sorted(b.headers);
  return a.command === b.command && a.cwd === b.cwd && JSON.stringify(a.args) === JSON.stringify(b.args) && sorted(a.env) === sorted(b.env);
}
