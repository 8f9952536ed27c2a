/**
 * When each secret of the config's `rotation` block is due, and running its rotation then.
 *
 * Per secret: `last` (kept across restarts in the state dir) plus `every` (a duration or a cron
 * expression) gives `next`. At start-up, rotations a killed daemon left half-done resume first;
 * then every secret whose `next` has passed (the machine slept, the daemon was stopped) runs at
 * once; the rest wait on timers. `remind` secrets are never rotated by mcpd: from `warnBefore`
 * ahead of `next` they are flagged, and overdue after it. The clock is injected, so a 90-day
 * schedule is tested in milliseconds.
 */
import ms from 'ms';
import type { ClockTimer } from '../../core/clock.js';
import { McpdError } from '../../core/errors.js';
import type { Ref } from '../../providers/provider.js';
import { parseRefBody, refsOf } from '../../providers/reference.js';
import { isDuration } from '../../core/duration.js';
import { isRemote, type RotationConfig, type ServerConfig } from '../config/schema.js';
import { type Journal, RotationBook, type SecretState } from './journal.js';
import { Rotator, type RotatorDeps, versionNow } from './rotator.js';
import { own } from '../../core/own.js';

export interface RotationStatus {
  readonly name: string;
  readonly strategy: RotationConfig['strategy'];
  readonly last: string;
  /** Days since `last`, to a tenth. */
  readonly ageDays: number;
  readonly next: string;
  /** idle, warning (remind, within warnBefore), overdue, or the step of a rotation under way. */
  readonly state: string;
  readonly overdue: boolean;
  /** Why the last attempt at a step failed (it is tried again at `retryAt`). */
  readonly lastError: string | undefined;
  /** What a rotation under way waits for, when it is not a failure (the grace period, a server still holding the old value). */
  readonly waiting: string | undefined;
  readonly retryAt: string | undefined;
}

export type SchedulerDeps = Omit<RotatorDeps, 'book'> & { readonly stateDir: string };

/** Timers are re-armed at least daily: a 90-day timeout does not fit in a JavaScript timer, and clocks jump. */
const MAX_TIMER_MS = 24 * 3600_000;

type Cron = { nextRun(after?: Date): Date | null };

export class RotationScheduler {
  readonly #deps: SchedulerDeps;
  readonly #book: RotationBook;
  readonly #rotator: Rotator;
  #config: Record<string, RotationConfig>;
  #states: Record<string, SecretState> = {};
  readonly #journals = new Map<string, Journal>();
  readonly #timers = new Map<string, ClockTimer>();
  readonly #running = new Map<string, Promise<void>>();
  readonly #crons = new Map<string, Cron>();
  readonly #waits = new Map<string, { retryAt: number; reason: string; failed: boolean }>();
  #stopped = false;

  constructor(config: Record<string, RotationConfig>, deps: SchedulerDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#book = new RotationBook(deps.stateDir);
    this.#rotator = new Rotator({ ...deps, book: this.#book });
  }

  /** Resumes unfinished rotations, runs missed ones, and arms the timers. */
  async start(): Promise<void> {
    this.#states = await this.#book.states();
    for (const journal of await this.#book.journals()) this.#journals.set(journal.name, journal);
    await this.#update(this.#config);
  }

  /** A reloaded config: schedules follow it; rotations under way go on. */
  async reconfigure(config: Record<string, RotationConfig>): Promise<void> {
    await this.#update(config);
  }

  status(): RotationStatus[] {
    return Object.entries(this.#config).map(([name, config]) => {
      const next = this.#next(name, config);
      const now = this.#deps.clock.now();
      const journal = this.#journals.get(name);
      const wait = this.#waits.get(name);
      const warned = config.strategy === 'remind' && now >= next - ms(config.warnBefore as ms.StringValue);
      const state = journal ? journal.step : now >= next ? 'overdue' : warned ? 'warning' : 'idle';
      const last = own(this.#states, name)?.last ?? new Date(now).toISOString();
      return {
        name, strategy: config.strategy, last, ageDays: Math.floor((now - Date.parse(last)) / 8_640_000) / 10,
        // A cron schedule is known once start() has loaded the cron library.
        next: Number.isFinite(next) ? new Date(next).toISOString() : 'not known yet',
        state, overdue: now >= next, lastError: journal?.lastError ?? (wait?.failed ? wait.reason : undefined),
        waiting: wait && !wait.failed ? wait.reason : undefined, retryAt: journal?.retryAt,
      };
    });
  }

  /** `mcpd rotate NAME --now`: rotates at once; for `remind`, records that the user has just rotated it. */
  async runNow(name: string): Promise<RotationStatus> {
    const config = this.#configOf(name);
    if (config.strategy === 'remind') {
      await this.#setLast(name, this.#deps.clock.now());
    } else {
      const journal = this.#journals.get(name);
      if (journal) journal.retryAt = undefined;
      await this.#run(name);
    }
    this.#arm(name);
    return this.status().find((s) => s.name === name)!;
  }

  /** Resolves once no rotation is running (for tests and shutdown). */
  async settled(): Promise<void> {
    while (this.#running.size) await Promise.allSettled(this.#running.values());
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers.values()) this.#deps.clock.clearTimeout(timer);
    this.#timers.clear();
    await this.settled();
  }

  async #update(config: Record<string, RotationConfig>): Promise<void> {
    this.#config = config;
    await this.#loadCrons(config);
    const now = this.#deps.clock.now();
    for (const [name, rotation] of Object.entries(config)) {
      // First seen: the schedule starts today, from the version there is now.
      if (!own(this.#states, name)) await this.#setLast(name, now, stores(rotation) ? await this.#versionOf(refOf(name)).catch(() => undefined) : undefined);
    }
    for (const name of [...this.#timers.keys()]) this.#disarm(name);
    for (const [name, rotation] of Object.entries(config)) {
      if (rotation.strategy !== 'remind' && (this.#journals.has(name) || this.#next(name, rotation) <= now)) void this.#run(name);
      else this.#arm(name);
    }
  }

  /** Cron schedules compiled; the config loader has already checked each expression. */
  async #loadCrons(config: Record<string, RotationConfig>): Promise<void> {
    this.#crons.clear();
    const crons = Object.entries(config).filter(([, r]) => !isDuration(r.every));
    if (crons.length === 0) return;
    const { Cron } = await import('croner');
    for (const [name, rotation] of crons) this.#crons.set(name, new Cron(rotation.every, { paused: true, timezone: 'UTC' }));
  }

  #next(name: string, config: RotationConfig): number {
    const last = Date.parse(own(this.#states, name)?.last ?? new Date(this.#deps.clock.now()).toISOString());
    if (isDuration(config.every)) return last + ms(config.every as ms.StringValue);
    return this.#crons.get(name)?.nextRun(new Date(last))?.getTime() ?? Infinity;
  }

  /** Runs (or resumes) the rotation of `name`; one at a time per secret. */
  #run(name: string): Promise<void> {
    const running = this.#running.get(name);
    if (running) return running;
    const run = this.#rotate(name).finally(() => {
      this.#running.delete(name);
      if (!this.#stopped) this.#arm(name);
    });
    this.#running.set(name, run);
    return run;
  }

  async #rotate(name: string): Promise<void> {
    const config = this.#configOf(name);
    const ref = refOf(name);
    try {
      const journal = this.#journals.get(name) ?? (await this.#begin(name, config, ref));
      if (!journal) {
        this.#waits.delete(name);
        return;
      }
      this.#journals.set(name, journal);
      const outcome = await this.#rotator.advance(journal, ref, config);
      if (outcome.done) {
        this.#journals.delete(name);
        this.#waits.delete(name);
        this.#states = await this.#book.states();
      } else this.#waits.set(name, outcome);
    } catch (error) {
      // Failing to begin (the store cannot be read): nothing changed; try again later.
      const reason = error instanceof McpdError ? error.message : String(error);
      this.#waits.set(name, { retryAt: this.#deps.clock.now() + 60_000, reason, failed: true });
      this.#deps.note(`rotation of ${name} could not begin: ${reason}`);
    }
  }

  /** A new journal; undefined when another writer (a daemon sharing the secret) rotated it since mcpd last saw it. */
  async #begin(name: string, config: RotationConfig, ref: Ref): Promise<Journal | undefined> {
    const baseVersion = stores(config) ? await this.#versionOf(ref) : undefined;
    const known = own(this.#states, name)?.version;
    if (known !== undefined && baseVersion !== undefined && baseVersion !== known) {
      this.#deps.note(`${name} changed since mcpd last saw it (version ${known}, now ${baseVersion}): it was rotated elsewhere first; adopting that value, its schedule starts again`);
      this.#deps.audit?.(name, 'done', 'rotated elsewhere');
      await this.#setLast(name, this.#deps.clock.now(), baseVersion);
      return undefined;
    }
    const journal: Journal = { name, strategy: config.strategy, step: 'pending', startedAt: new Date(this.#deps.clock.now()).toISOString(), baseVersion, attempts: 0 };
    await this.#book.save(journal);
    this.#deps.note(`rotation of ${name} begins (${config.strategy})`);
    this.#deps.audit?.(name, 'pending');
    return journal;
  }

  /** The timer for `name`'s next event: a retry, or its schedule (re-armed daily until then). */
  #arm(name: string): void {
    this.#disarm(name);
    const config = own(this.#config, name);
    if (!config || this.#stopped) return;
    const wait = this.#waits.get(name);
    const due = wait ? wait.retryAt : this.#next(name, config);
    const delay = Math.max(0, Math.min(due - this.#deps.clock.now(), MAX_TIMER_MS));
    const timer = this.#deps.clock.setTimeout(() => {
      this.#timers.delete(name);
      const at = this.#deps.clock.now();
      if (at < due) return this.#arm(name);
      if (config.strategy === 'remind') {
        this.#deps.note(`${name} is overdue for rotation (due ${new Date(due).toISOString()}): rotate it upstream, store it with mcpd secret set, then run mcpd rotate ${name} --now`);
        return undefined;
      }
      this.#waits.delete(name);
      void this.#run(name);
      return undefined;
    }, delay);
    (timer.id as { unref?: () => void } | undefined)?.unref?.();
    this.#timers.set(name, timer);
  }

  #disarm(name: string): void {
    const timer = this.#timers.get(name);
    if (timer) this.#deps.clock.clearTimeout(timer);
    this.#timers.delete(name);
  }

  async #versionOf(ref: Ref): Promise<string | undefined> {
    return versionNow(await this.#deps.providerOf(ref.provider), ref);
  }

  async #setLast(name: string, at: number, version = own(this.#states, name)?.version): Promise<void> {
    const state = { last: new Date(at).toISOString(), version };
    this.#states[name] = state;
    await this.#book.setState(name, state);
  }

  #configOf(name: string): RotationConfig {
    const config = own(this.#config, name);
    if (!config) {
      throw new McpdError('NOT_FOUND', `no rotation named "${name}" in the config; configured: ${Object.keys(this.#config).sort().join(', ') || '(none)'}`, {
        hint: `add "${name}" under "rotation" in the config`,
      });
    }
    return config;
  }
}

/** Strategies that write a new version of the secret. */
function stores(config: RotationConfig): boolean {
  return config.strategy === 'generate' || config.strategy === 'command';
}


/**
 * Whether a server's env (a url server's headers) uses the secret `ref` names: the same reference, or a field of it
 * (`vault:database/creds/ro` is used by `${vault:database/creds/ro#password}`).
 */
export function serverUses(server: ServerConfig | undefined, ref: Ref): boolean {
  if (!server) return false;
  return Object.entries(isRemote(server) ? server.headers : server.env).some(([variable, text]) => refsOf(text, variable).some((used) =>
    used.provider === ref.provider && (used.path === ref.path || used.path.startsWith(`${ref.path}#`) || used.path.startsWith(`${ref.path}?`))));
}

/** A rotation key is a reference without `${}`; a bare path means `secret:PATH`. */
export function refOf(name: string): Ref {
  return parseRefBody(name, `rotation.${name}`, 'secret');
}
