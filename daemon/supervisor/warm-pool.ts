/**
 * A server's warm pool (README "Warm pool"): `warm` instances started ahead of need, references
 * resolved and process waiting for its `initialize`, so a session takes one instead of waiting
 * for a boot. Each is made through the same path as a session's own (SessionWiring.instance and
 * prepare: the same env, leases and audit), under the session id `pool` until taken. The pool is
 * an explicit state machine:
 *
 *   stopped ──fill──▶ filling ──all running──▶ ready ──take / crash / recycle──▶ filling
 *                        └──────a start failed (either)──▶ waiting ──backoff──▶ filling
 *   any state ──stop──▶ stopped (a take on a stopped pool starts it filling again)
 *
 * A take never waits: it returns a running instance or undefined. A pooled process that exits is
 * restarted by its Instance with the restart backoff; one that gives up, or whose references do
 * not resolve, makes the pool wait out the same backoff and says why in status. A pooled
 * instance is replaced before its leases end and after half its `ttl`, so a session that takes
 * one (and rolls once the `ttl` since the process started has passed) keeps it at least half the
 * `ttl`. Clock and instances are injected, as Instance's are.
 */
import type { Clock, ClockTimer } from '../../core/clock.js';
import { McpdError } from '../../core/errors.js';
import type { PoolState, PoolStatus } from '../protocol.js';
import type { BackoffPolicy, Instance } from './instance.js';
import { residentKiB } from './process-memory.js';
import { type Owner, WarmInstance } from './warm-instance.js';

export interface PoolDeps {
  readonly clock: Clock;
  /** The daemon's restart backoff now (a reload may change it). */
  readonly backoff: () => BackoffPolicy;
  /** A new supervised instance of the server whose starts audit their references as `owner.session`. */
  readonly create: (owner: Owner) => Instance;
  /** Daemon log lines about the pool: references and reasons, never values. */
  readonly log: (event: string, fields: Record<string, unknown>) => void;
  /** A pooled process's masked stderr line, for the server's log. */
  readonly stderr: (line: string) => void;
}

export interface PoolSettings {
  readonly name: string;
  readonly warm: number;
  readonly ttlMs: number | undefined;
  /** Why the server is never pre-started (its references need the user); the pool then stays empty. */
  readonly held?: string;
}

interface Slot {
  readonly instance: WarmInstance;
  ttl: ClockTimer | undefined;
}

const TRANSITIONS: Record<PoolState, readonly PoolState[]> = {
  stopped: ['filling'],
  filling: ['ready', 'waiting', 'stopped'],
  ready: ['filling', 'waiting', 'stopped'],
  waiting: ['filling', 'stopped'],
};

export class WarmPool {
  #state: PoolState = 'stopped';
  #slots: Slot[] = [];
  /** Failed fills in a row: the backoff doubles with each. */
  #failures = 0;
  #timer: ClockTimer | undefined;
  #lastError: string | undefined;
  readonly #settings: PoolSettings;
  readonly #deps: PoolDeps;

  constructor(settings: PoolSettings, deps: PoolDeps) {
    this.#settings = settings;
    this.#deps = deps;
  }

  get state(): PoolState {
    return this.#state;
  }

  /** Starts instances until `warm` are up or starting; does nothing while waiting out a backoff. */
  fill(): void {
    const { warm, held } = this.#settings;
    if (warm === 0 || held !== undefined || this.#state === 'waiting') return;
    if (this.#state === 'stopped') this.#to('filling');
    while (this.#slots.length < warm) this.#boot();
    this.#settle();
  }

  /** A running pooled instance, now session `session`'s, or undefined at once when none is ready; a replacement starts. */
  take(session: string): WarmInstance | undefined {
    const slot = this.#slots.find((s) => s.instance.state === 'running');
    if (slot) {
      this.#remove(slot);
      slot.instance.take(session);
      this.#deps.log('pool.taken', { server: this.#settings.name, session, pid: slot.instance.pid });
    }
    this.fill();
    return slot?.instance;
  }

  /** Replaces every pooled instance with one started afresh (rotation, `mcpd restart`): new values, new processes. */
  async refresh(reason: string): Promise<void> {
    const old = this.#slots;
    this.#slots = [];
    for (const slot of old) this.#cancel(slot);
    if (old.length) this.#deps.log('pool.recycled', { server: this.#settings.name, instances: old.length, reason });
    // The old ones stop before the new ones resolve: a rotation's old value is not held a moment longer than needed.
    await Promise.all(old.map((s) => s.instance.stop()));
    if (this.#state !== 'stopped') this.fill();
  }

  /** Stops every pooled process (MCP's shutdown) and the backoff; a later take or fill starts again. */
  async stop(): Promise<void> {
    if (this.#timer) this.#deps.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#state !== 'stopped') this.#to('stopped');
    const old = this.#slots;
    this.#slots = [];
    for (const slot of old) this.#cancel(slot);
    await Promise.all(old.map((s) => s.instance.stop()));
  }

  status(): PoolStatus {
    const instances = this.#slots.map(({ instance }) => {
      const { state, pid, since } = instance.status();
      return { state, pid, since, rssKiB: pid === undefined ? undefined : residentKiB(pid) };
    });
    const { warm, held } = this.#settings;
    return { warm, state: this.#state, instances, lastError: this.#lastError, ...(held ? { held } : {}) };
  }

  #boot(): void {
    const { name } = this.#settings;
    const live = () => this.#slots.includes(slot);
    const slot: Slot = {
      ttl: undefined,
      instance: new WarmInstance(this.#deps.create, {
        started: () => {
          if (!live()) return;
          // Up again after a crash: the crash no longer says why the pool is short.
          this.#lastError = undefined;
          this.#armTtl(slot);
          this.#settle();
        },
        stderr: (line) => this.#deps.stderr(line),
        early: () => this.#deps.log('pool.note', { server: name, message: 'a pooled process wrote on stdout before its initialize; the session that takes it gets that first' }),
        crashed: (reason) => {
          if (!live()) return;
          this.#lastError = `a pooled process ${reason}; restarting it`;
          this.#deps.log('pool.crashed', { server: name, reason });
          this.#settle();
        },
        failed: (reason) => live() && this.#failed(slot, reason),
        expiring: (reason) => live() && this.#recycle(slot, reason),
      }),
    };
    this.#slots.push(slot);
    slot.instance.boot().then(() => {
      if (!live()) return; // stopped while it resolved
      this.#failures = 0;
      this.#deps.log('pool.started', { server: name, pid: slot.instance.pid });
    }, (error: unknown) => live() && this.#failed(slot, error instanceof McpdError ? error.message : String(error)));
  }

  /** A pooled instance that could not start, or gave up: out, and the pool waits out the backoff before trying again. */
  #failed(slot: Slot, reason: string): void {
    this.#remove(slot);
    void slot.instance.stop();
    this.#lastError = reason;
    this.#failures += 1;
    if (this.#state === 'stopped' || this.#state === 'waiting') return;
    const { initialMs, maxMs } = this.#deps.backoff();
    const delay = Math.min(initialMs * 2 ** (this.#failures - 1), maxMs);
    this.#deps.log('pool.failed', { server: this.#settings.name, error: reason, retryInMs: delay });
    this.#to('waiting');
    this.#timer = this.#deps.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#to('filling');
      this.fill();
    }, delay);
  }

  /** A pooled instance whose values should not be handed out any more: a fresh one takes its place. */
  #recycle(slot: Slot, reason: string): void {
    this.#remove(slot);
    this.#deps.log('pool.recycled', { server: this.#settings.name, instances: 1, reason });
    void slot.instance.stop();
    this.fill();
  }

  #armTtl(slot: Slot): void {
    const { ttlMs } = this.#settings;
    if (slot.ttl) this.#deps.clock.clearTimeout(slot.ttl);
    if (ttlMs === undefined) return;
    slot.ttl = this.#deps.clock.setTimeout(() => {
      slot.ttl = undefined;
      this.#recycle(slot, `it waited half its ttl of ${ttlMs / 1000} s`);
    }, ttlMs / 2);
  }

  #remove(slot: Slot): void {
    this.#cancel(slot);
    this.#slots = this.#slots.filter((s) => s !== slot);
    this.#settle();
  }

  #cancel(slot: Slot): void {
    if (slot.ttl) this.#deps.clock.clearTimeout(slot.ttl);
    slot.ttl = undefined;
  }

  /** filling ⇄ ready, by whether every slot runs. */
  #settle(): void {
    if (this.#state !== 'filling' && this.#state !== 'ready') return;
    const full = this.#slots.length === this.#settings.warm && this.#slots.every((s) => s.instance.state === 'running');
    const next = full ? 'ready' : 'filling';
    if (next !== this.#state) this.#to(next);
  }

  #to(next: PoolState): void {
    if (!TRANSITIONS[this.#state].includes(next)) {
      throw new McpdError('INTERNAL', `warm pool of ${this.#settings.name}: no transition from ${this.#state} to ${next}`);
    }
    this.#state = next;
  }
}
