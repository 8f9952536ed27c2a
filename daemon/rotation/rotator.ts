/**
 * One rotation of one secret, step by step, each step journaled before it is taken so a daemon
 * killed anywhere resumes without losing the new value, applying it twice or revoking the old
 * value while a server still holds it:
 *
 *   pending   the old value is kept aside (mcpd's local store); a new one is made (generate,
 *             command) and kept aside too, then written as the secret's new version with
 *             check-and-set against the version the rotation began from: of several daemons
 *             sharing one Vault path, one wins and the others adopt its value.      → stored
 *   stored    `apply` registers the new value upstream ({name, old, new} on stdin). If it
 *             fails, the old value is made current again (it stays live), and the step is
 *             retried with backoff.                                                 → applied
 *   applied   every server using the secret is rolled onto the new value.           → rolled
 *   rolled    after `grace`, and once no running server holds the old value, `revoke`
 *             retires it upstream.                                                  → old-revoked
 *   old-revoked  the kept-aside values are removed, the rotation's time recorded.   → done
 *
 * `vault` (a dynamic path) has nothing to store: pending → rolled (each server gets a new lease).
 */
import { randomBytes } from 'node:crypto';
import ms from 'ms';
import type { Clock } from '../../core/clock.js';
import { McpdError } from '../../core/errors.js';
import type { Provider, Ref, Resolved } from '../../providers/provider.js';
import type { RotationConfig } from '../config/schema.js';
import type { Journal, RotationBook } from './journal.js';
import { runRotationCommand } from './commands.js';

export interface RotatorDeps {
  readonly book: RotationBook;
  readonly clock: Clock;
  readonly providerOf: (name: string) => Promise<Provider>;
  /** Rolls every running server that uses `ref` onto fresh values; resolves once they have been asked to. */
  readonly roll: (ref: Ref) => Promise<number>;
  /** How many running server processes, started before `since`, use `ref` (they hold the old value). */
  readonly holders: (ref: Ref, since: number) => number;
  readonly note: (message: string) => void;
  /** The audit log's record of each step (names and steps, never values). */
  readonly audit?: (name: string, step: Journal['step'] | 'failed', detail?: string) => void;
  /** The environment the commands run with (a safelist, never the daemon's whole environment). */
  readonly commandEnv: Record<string, string>;
}

/** What a run of the rotator ended in: finished, or waiting until `retryAt` after a failure, or for grace or a server. */
export type Outcome = { done: true } | { done: false; retryAt: number; reason: string; failed: boolean };

const RETRY_MS = 60_000;
const MAX_RETRY_MS = 60 * 60_000;

export class Rotator {
  readonly #deps: RotatorDeps;

  constructor(deps: RotatorDeps) {
    this.#deps = deps;
  }

  /** Takes `journal` as far as it can go now. */
  async advance(journal: Journal, ref: Ref, config: RotationConfig): Promise<Outcome> {
    const now = this.#deps.clock.now();
    if (journal.retryAt && Date.parse(journal.retryAt) > now) return { done: false, retryAt: Date.parse(journal.retryAt), reason: journal.lastError ?? 'waiting', failed: journal.lastError !== undefined };
    try {
      for (;;) {
        const waiting = await this.#step(journal, ref, config);
        if (waiting) return waiting;
        if (journal.step === 'done') return { done: true };
      }
    } catch (error) {
      return this.#failed(journal, error);
    }
  }

  /** Takes one step; returns a wait instead when the step cannot be taken yet. */
  async #step(journal: Journal, ref: Ref, config: RotationConfig): Promise<Outcome | undefined> {
    switch (journal.step) {
      case 'pending':
        if (config.strategy === 'vault') {
          const promotedAt = this.#now();
          await this.#deps.roll(ref);
          return this.#to(journal, 'rolled', { promotedAt });
        }
        if (config.strategy === 'remind') throw new McpdError('INTERNAL', `rotation.${journal.name}: a remind secret is never rotated by mcpd`);
        return this.#store(journal, ref, config);
      case 'stored': {
        await this.#apply(journal, ref, config);
        // From here on the new value is the one launches get: a server started before holds the old.
        return this.#to(journal, 'applied', { promotedAt: this.#now() });
      }
      case 'applied':
        await this.#deps.roll(ref);
        return this.#to(journal, 'rolled');
      case 'rolled':
        return this.#revokeOld(journal, ref, config);
      case 'old-revoked':
        await this.#finish(journal, ref, journal.promotedAt ?? this.#now());
        this.#deps.note(`rotation of ${journal.name} is done`);
        this.#deps.audit?.(journal.name, 'done');
        return undefined;
      case 'done':
        return undefined;
    }
  }

  async #store(journal: Journal, ref: Ref, config: Extract<RotationConfig, { strategy: 'generate' | 'command' }>): Promise<Outcome | undefined> {
    const provider = await this.#deps.providerOf(ref.provider);
    const current = (await readNow(provider, ref))?.value ?? ''; // a secret's first rotation creates it
    const fresh = (await this.#kept(ref, 'new')) ?? (await this.#newValue(journal, config));
    // Kept aside before anything changes: the old value for `revoke`, the new one so a resumed rotation never makes another.
    const old = (await this.#kept(ref, 'old')) ?? current;
    if (old !== '') await this.#keep(ref, 'old', old);
    await this.#keep(ref, 'new', fresh);
    // Killed after the write, before its journal: the secret already holds the new value.
    if (current === fresh) return this.#to(journal, 'stored');
    try {
      await provider.store!(ref, fresh, journal.baseVersion === undefined ? {} : { ifVersion: journal.baseVersion });
    } catch (error) {
      if (!(error instanceof McpdError && error.code === 'SECRET_CONFLICT')) throw error;
      // Another daemon sharing this secret rotated it first: its value stands, ours is dropped.
      this.#deps.note(`${journal.name} was rotated elsewhere first (${error.message}); adopting that value`);
      await this.#finish(journal, ref, this.#now());
      return undefined;
    }
    return this.#to(journal, 'stored');
  }

  async #apply(journal: Journal, ref: Ref, config: RotationConfig): Promise<void> {
    if (!('apply' in config) || !config.apply) return;
    const values = await this.#values(journal, ref);
    const provider = await this.#deps.providerOf(ref.provider);
    if ((await readNow(provider, ref))?.value !== values.new) await provider.store!(ref, values.new); // a retry after the old was made current again
    try {
      await runRotationCommand('apply', config.apply, values, journal.name, this.#deps.commandEnv);
    } catch (error) {
      // Until the new value is registered upstream, launches must keep getting the old one.
      if (values.old !== '') await provider.store!(ref, values.old);
      throw error;
    }
  }

  async #revokeOld(journal: Journal, ref: Ref, config: RotationConfig): Promise<Outcome | undefined> {
    const promotedAt = Date.parse(journal.promotedAt ?? new Date(0).toISOString());
    const grace = 'grace' in config ? ms(config.grace as ms.StringValue) : 0;
    const now = this.#deps.clock.now();
    if (now < promotedAt + grace) return { done: false, retryAt: promotedAt + grace, reason: `the old value is revoked after its grace period, at ${new Date(promotedAt + grace).toISOString()}`, failed: false };
    const holders = this.#deps.holders(ref, promotedAt);
    if (holders > 0) return { done: false, retryAt: now + RETRY_MS, reason: `${holders} running server process(es) still hold the old value`, failed: false };
    if ('revoke' in config && config.revoke) {
      await runRotationCommand('revoke', config.revoke, await this.#values(journal, ref), journal.name, this.#deps.commandEnv);
    }
    return this.#to(journal, 'old-revoked');
  }

  async #newValue(journal: Journal, config: Extract<RotationConfig, { strategy: 'generate' | 'command' }>): Promise<string> {
    if (config.strategy === 'generate') return randomBytes(config.length).toString(config.encoding);
    const printed = await runRotationCommand('command', config.command, undefined, journal.name, this.#deps.commandEnv);
    const value = printed.replace(/\r?\n$/, '');
    if (value.trim() === '') {
      throw new McpdError('ROTATION_FAILED', `rotation.${journal.name}.command (${config.command.join(' ')}) printed nothing; nothing was stored`, {
        hint: 'the command must print the new value on stdout',
      });
    }
    return value;
  }

  /** What `apply` and `revoke` are given on stdin. */
  async #values(journal: Journal, ref: Ref): Promise<{ name: string; old: string; new: string }> {
    return { name: journal.name, old: (await this.#kept(ref, 'old')) ?? '', new: (await this.#kept(ref, 'new')) ?? '' };
  }

  /** Ends the rotation: the kept-aside values go, and the time and the version it left are recorded for the next one. */
  async #finish(journal: Journal, ref: Ref, last: string): Promise<void> {
    await this.#forgetKept(ref);
    const version = await versionNow(await this.#deps.providerOf(ref.provider), ref).catch(() => undefined);
    await this.#deps.book.setState(journal.name, { last, version });
    journal.step = 'done';
    await this.#deps.book.finish(journal);
  }

  /** The kept-aside values live in mcpd's own local store, beside nothing a server reads. */
  #keptRef(ref: Ref, which: 'old' | 'new'): Ref {
    const path = `mcpd-rotation/${ref.raw}/${which}`;
    return { raw: `local:${path}`, provider: 'local', path };
  }

  async #kept(ref: Ref, which: 'old' | 'new'): Promise<string | undefined> {
    return (await readNow(await this.#deps.providerOf('local'), this.#keptRef(ref, which)))?.value;
  }

  async #keep(ref: Ref, which: 'old' | 'new', value: string): Promise<void> {
    if ((await this.#kept(ref, which)) === value) return;
    await (await this.#deps.providerOf('local')).store!(this.#keptRef(ref, which), value);
  }

  async #forgetKept(ref: Ref): Promise<void> {
    const local = await this.#deps.providerOf('local');
    for (const which of ['old', 'new'] as const) await local.remove?.(this.#keptRef(ref, which)).catch(() => {});
  }

  /** Journals a step taken (with `extra`). */
  async #to(journal: Journal, step: Journal['step'], extra: Partial<Journal> = {}): Promise<undefined> {
    Object.assign(journal, extra, { step, attempts: 0, lastError: undefined, retryAt: undefined });
    await this.#deps.book.save(journal);
    this.#deps.note(`rotation of ${journal.name}: ${step}`);
    this.#deps.audit?.(journal.name, step);
    return undefined;
  }

  #now(): string {
    return new Date(this.#deps.clock.now()).toISOString();
  }

  async #failed(journal: Journal, error: unknown): Promise<Outcome> {
    const reason = error instanceof McpdError ? error.message : String(error);
    journal.attempts += 1;
    const retryAt = this.#deps.clock.now() + Math.min(RETRY_MS * 2 ** (journal.attempts - 1), MAX_RETRY_MS);
    Object.assign(journal, { lastError: reason, retryAt: new Date(retryAt).toISOString() });
    await this.#deps.book.save(journal);
    this.#deps.note(`rotation of ${journal.name} failed at ${journal.step}: ${reason}; retrying at ${journal.retryAt}`);
    this.#deps.audit?.(journal.name, 'failed', reason);
    return { done: false, retryAt, reason, failed: true };
  }
}

/** A secret as its backend holds it now, past the daemon's cache; undefined when it is not stored (yet). */
export async function readNow(provider: Provider, ref: Ref): Promise<Resolved | undefined> {
  const [outcome] = await provider.resolve([ref], { fresh: true });
  if (outcome instanceof McpdError) {
    if (outcome.code === 'SECRET_NOT_FOUND') return undefined;
    throw outcome;
  }
  return outcome;
}

/** The secret's version now: '0' when it is not stored yet, undefined for a store that keeps no versions. */
export async function versionNow(provider: Provider, ref: Ref): Promise<string | undefined> {
  const now = await readNow(provider, ref);
  return now ? now.version : '0';
}
