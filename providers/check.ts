/**
 * Whether references resolve, as a launch would resolve them: by name and provider, never a
 * value. A lease taken to check a dynamic secret is revoked at once. Used by `mcpd secrets check`
 * in the CLI and by the daemon's `secrets.check`, on the references a config uses
 * (daemon/config/references.ts).
 */
import { McpdError } from '../core/errors.js';
import { type Ref, showRef } from './provider.js';
import type { ProviderRegistry } from './registry.js';
import { resolveAll } from './resolver.js';

export interface Finding {
  readonly reference: string;
  readonly provider: string;
  readonly servers: string[];
  readonly ok: boolean;
  readonly error?: { code: string; message: string; hint?: string };
}

/** A reference and the servers that use it. */
export interface ReferenceUse {
  readonly ref: Ref;
  readonly servers: string[];
}

/** One finding per reference, in the order given; each reference given once. */
export async function checkReferences(uses: readonly ReferenceUse[], registry: ProviderRegistry): Promise<Finding[]> {
  const outcomes = await resolveAll(uses.map((u) => u.ref), registry);
  return Promise.all(uses.map(async ({ ref, servers }): Promise<Finding> => {
    const outcome = outcomes.get(ref.raw)!.outcome;
    const base = { reference: showRef(ref), provider: ref.provider, servers };
    if (outcome instanceof McpdError) return { ...base, ok: false, error: { code: outcome.code, message: outcome.message, ...(outcome.hint ? { hint: outcome.hint } : {}) } };
    if (outcome.lease) await (await registry.get(ref.provider)).revoke?.(outcome.lease);
    return { ...base, ok: true };
  }));
}
