/**
 * The daemon's memory of resolved values, one entry per reference, so a warm launch asks no
 * backend and a burst of launches asks once (1Password service accounts allow 1,000–10,000
 * reads an hour). Values live in memory only, never on disk.
 *
 * - A value is kept for the provider's `cacheTtl`; a failure for `failureTtl`, so a bad token or
 *   a crash-looping server cannot burn a quota.
 * - Concurrent resolutions of one reference share one backend call.
 * - A leased value (a Vault dynamic secret) is never kept and never shared: each launch gets a
 *   lease of its own, revoked when its server exits.
 */
import type { Clock } from '../core/clock.js';
import { McpdError } from '../core/errors.js';
import type { Provider, Ref, Resolution } from './provider.js';

export interface CachePolicy {
  /** How long a resolved value is served from memory; 0 turns the cache off for the provider. */
  readonly ttlMs: number;
  readonly failureTtlMs: number;
}

export const DEFAULT_FAILURE_TTL_MS = 30_000;

interface Entry {
  readonly outcome: Resolution;
  readonly until: number;
}

/** Wraps a provider with the cache; every other capability passes through untouched. */
export function cached(provider: Provider, policy: CachePolicy, clock: Clock): Provider {
  if (policy.ttlMs <= 0) return provider;
  const entries = new Map<string, Entry>();
  const inflight = new Map<string, Promise<Resolution>>();

  const fresh = (ref: Ref): Resolution | undefined => {
    const entry = entries.get(ref.raw);
    if (entry && entry.until > clock.now()) return entry.outcome;
    entries.delete(ref.raw);
    return undefined;
  };

  const remember = (ref: Ref, outcome: Resolution) => {
    if (!(outcome instanceof McpdError) && outcome.lease) return;
    const ttl = outcome instanceof McpdError ? policy.failureTtlMs : policy.ttlMs;
    if (ttl > 0) entries.set(ref.raw, { outcome, until: clock.now() + ttl });
  };

  /** One backend call for all the references nobody is fetching yet. */
  const fetch = (refs: readonly Ref[]): void => {
    const call = provider.resolve(refs);
    refs.forEach((ref, i) => {
      const one = call.then(
        (outcomes) => outcomes[i]!,
        (error: unknown) => asFailure(error, ref),
      ).then((outcome) => {
        remember(ref, outcome);
        inflight.delete(ref.raw);
        return outcome;
      });
      inflight.set(ref.raw, one);
    });
  };

  const wrapped: Provider = {
    name: provider.name,
    async resolve(refs, options) {
      if (options?.fresh) {
        // Past the cache, and what is read replaces what it held.
        const outcomes = await provider.resolve(refs);
        refs.forEach((ref, i) => {
          entries.delete(ref.raw);
          remember(ref, outcomes[i]!);
        });
        return outcomes;
      }
      const unique = [...new Map(refs.map((ref) => [ref.raw, ref])).values()];
      const missing = unique.filter((ref) => fresh(ref) === undefined && !inflight.has(ref.raw));
      const joined = new Set(unique.filter((ref) => inflight.has(ref.raw)).map((ref) => ref.raw));
      if (missing.length) fetch(missing);
      return Promise.all(refs.map(async (ref) => {
        const hit = fresh(ref);
        if (hit) return hit;
        const outcome = await inflight.get(ref.raw)!;
        // A lease is its fetcher's alone: one who joined that call fetches a lease of its own.
        if (joined.has(ref.raw) && !(outcome instanceof McpdError) && outcome.lease) return (await provider.resolve([ref]))[0]!;
        return outcome;
      }));
    },
    async close() {
      entries.clear();
      await provider.close();
    },
  };
  // Capabilities pass through as the provider has them; a write forgets the old value first.
  if (provider.store) {
    wrapped.store = (ref, value, options) => {
      entries.delete(ref.raw);
      return provider.store!(ref, value, options);
    };
  }
  if (provider.remove) {
    wrapped.remove = (ref) => {
      entries.delete(ref.raw);
      return provider.remove!(ref);
    };
  }
  if (provider.list) wrapped.list = (prefix) => provider.list!(prefix);
  if (provider.renew) wrapped.renew = (lease) => provider.renew!(lease);
  if (provider.revoke) wrapped.revoke = (lease) => provider.revoke!(lease);
  return wrapped;
}

function asFailure(error: unknown, ref: Ref): McpdError {
  if (error instanceof McpdError) return error;
  return new McpdError('PROVIDER_FAILED', `\${${ref.raw}}: ${error instanceof Error ? error.message : String(error)}`);
}
