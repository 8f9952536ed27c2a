/**
 * The leases one server process holds (Vault dynamic secrets), each its own: renewed at about
 * two thirds of their duration, with jitter so that servers started together do not renew
 * together, and revoked once the process has ended. A lease that can no longer be extended to
 * its full length (capped by its max TTL, or not renewable at all), or whose renewal Vault
 * refuses (revoked under the server), is reported through `ending` before it runs out, so the
 * owner can replace the process with fresh values while the old ones still work.
 *
 * Provider instances are looked up by name at each renewal and revocation, so a config reload
 * that replaced the registry still reaches the backend that granted the lease.
 */
import type { Clock, ClockTimer } from '../../core/clock.js';
import { McpdError } from '../../core/errors.js';
import type { Lease, Provider } from '../../providers/provider.js';

/** A lease as a launch obtained it: which reference and provider it came from. */
export interface HeldLease {
  /** The reference as written (`${vault:database/creds/readonly#password}`), for logs and status. */
  readonly ref: string;
  /** The provider's config name. */
  readonly provider: string;
  readonly lease: Lease;
}

export interface LeaseKeeperDeps {
  readonly clock: Clock;
  /** In [0, 1): spreads each renewal over the tenth before its two-thirds mark. */
  readonly random: () => number;
  readonly providerOf: (name: string) => Promise<Provider>;
  /** Log lines: references and lease ids, never values. */
  readonly note: (message: string) => void;
  /** A lease will end and cannot be extended: the process should get fresh values before `at`. */
  readonly ending: (ref: string, at: number, why: string) => void;
}

export interface LeaseStatus {
  readonly ref: string;
  readonly expiresAt: string;
  readonly renewable: boolean;
}

interface Entry {
  held: HeldLease;
  /** The length it was first granted for: a renewal that gives less has met its max TTL. */
  readonly grantedMs: number;
  timer: ClockTimer | undefined;
}

export class LeaseKeeper {
  readonly #deps: LeaseKeeperDeps;
  readonly #entries: Entry[];
  #revoked: Promise<void> | undefined;

  /** Starts keeping `leases`; two references read from one path share a lease, kept once. */
  constructor(leases: readonly HeldLease[], deps: LeaseKeeperDeps) {
    this.#deps = deps;
    const unique = [...new Map(leases.map((held) => [`${held.provider}\0${held.lease.id}`, held])).values()];
    const now = deps.clock.now();
    this.#entries = unique.map((held) => ({ held, grantedMs: Math.max(0, held.lease.expiresAt - now), timer: undefined }));
    for (const entry of this.#entries) this.#schedule(entry, entry.held.lease.renewable);
  }

  get size(): number {
    return this.#entries.length;
  }

  status(): LeaseStatus[] {
    return this.#entries.map(({ held }) => ({ ref: held.ref, expiresAt: new Date(held.lease.expiresAt).toISOString(), renewable: held.lease.renewable }));
  }

  /** Stops renewing and revokes every lease, once; failures are noted, never thrown. */
  revokeAll(): Promise<void> {
    this.#revoked ??= (async () => {
      for (const entry of this.#entries) this.#cancel(entry);
      await Promise.all(this.#entries.map(async ({ held }) => {
        try {
          const provider = await this.#deps.providerOf(held.provider);
          await provider.revoke?.(held.lease);
          this.#deps.note(`revoked lease ${held.lease.id} of ${held.ref}`);
        } catch (error) {
          this.#deps.note(`revoking lease ${held.lease.id} of ${held.ref} failed: ${messageOf(error)}`);
        }
      }));
    })();
    return this.#revoked;
  }

  /** At about two thirds of what is left: a renewal, or (`renew` false) the `ending` report. */
  #schedule(entry: Entry, renew: boolean): void {
    const { clock, random } = this.#deps;
    const left = entry.held.lease.expiresAt - clock.now();
    const delay = Math.max(0, left * (2 / 3) * (1 - 0.1 * random()));
    this.#after(entry, delay, () => {
      if (renew) void this.#renew(entry);
      else this.#ending(entry, entry.held.lease.renewable ? 'it has reached its max TTL' : 'it is not renewable');
    });
  }

  async #renew(entry: Entry): Promise<void> {
    const { held } = entry;
    let renewed: Lease;
    try {
      const provider = await this.#deps.providerOf(held.provider);
      if (!provider.renew) throw new Error(`provider "${held.provider}" cannot renew leases`);
      renewed = await provider.renew(held.lease);
    } catch (error) {
      if (this.#revoked) return;
      const left = held.lease.expiresAt - this.#deps.clock.now();
      // A backend that is briefly down should not cost a server its credentials: ask again halfway to the end.
      if (isOutage(error) && left > 2000) {
        this.#deps.note(`renewing lease ${held.lease.id} of ${held.ref} failed (${messageOf(error)}); trying again`);
        this.#after(entry, left / 2, () => void this.#renew(entry));
        return;
      }
      this.#ending(entry, `renewing it failed: ${messageOf(error)}`);
      return;
    }
    if (this.#revoked) return;
    entry.held = { ...held, lease: renewed };
    const left = renewed.expiresAt - this.#deps.clock.now();
    // Vault grants less than asked once the lease nears its max TTL: from here it can only end.
    const capped = !renewed.renewable || left < entry.grantedMs * 0.99;
    this.#deps.note(`renewed lease ${renewed.id} of ${held.ref} until ${new Date(renewed.expiresAt).toISOString()}${capped ? ' (its last renewal)' : ''}`);
    this.#schedule(entry, !capped);
  }

  #after(entry: Entry, delayMs: number, run: () => void): void {
    entry.timer = this.#deps.clock.setTimeout(() => {
      entry.timer = undefined;
      run();
    }, delayMs);
    // Keeping a lease is no reason to keep a process alive.
    (entry.timer.id as { unref?: () => void } | undefined)?.unref?.();
  }

  #ending(entry: Entry, why: string): void {
    const { ref, lease } = entry.held;
    this.#deps.note(`lease ${lease.id} of ${ref} ends at ${new Date(lease.expiresAt).toISOString()}: ${why}`);
    this.#deps.ending(ref, lease.expiresAt, why);
  }

  #cancel(entry: Entry): void {
    if (entry.timer) this.#deps.clock.clearTimeout(entry.timer);
    entry.timer = undefined;
  }
}

function isOutage(error: unknown): boolean {
  return error instanceof McpdError && (error.code === 'PROVIDER_UNAVAILABLE' || error.code === 'PROVIDER_TIMEOUT');
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
