/**
 * Whether every reference a config uses resolves, as a launch would resolve it: by name and
 * provider, never a value. A lease taken to check a dynamic secret is revoked at once. Used by
 * `mcpd secrets check` in the CLI and by the daemon's `secrets.check`.
 */
import { McpdError } from '../core/errors.js';
import type { Config } from '../daemon/config/schema.js';
import { type Ref, showRef } from './provider.js';
import { refsOf } from './reference.js';
import type { ProviderRegistry } from './registry.js';
import { resolveAll } from './resolver.js';

export interface Finding {
  readonly reference: string;
  readonly provider: string;
  readonly servers: string[];
  readonly ok: boolean;
  readonly error?: { code: string; message: string; hint?: string };
}

/** One finding per distinct reference, in the order the config uses them. */
export async function checkReferences(config: Config, registry: ProviderRegistry): Promise<Finding[]> {
  const users = new Map<string, { ref: Ref; servers: string[] }>();
  for (const [name, server] of Object.entries(config.mcpServers)) {
    const texts: Array<[string, string]> = [
      ...Object.entries(server.env).map(([k, v]): [string, string] => [`mcpServers.${name}.env.${k}`, v]),
      ...server.args.map((a, i): [string, string] => [`mcpServers.${name}.args[${i}]`, a]),
    ];
    for (const [where, text] of texts) {
      for (const ref of refsOf(text, where)) {
        const entry = users.get(ref.raw) ?? { ref, servers: [] };
        if (!entry.servers.includes(name)) entry.servers.push(name);
        users.set(ref.raw, entry);
      }
    }
  }
  const outcomes = await resolveAll([...users.values()].map((u) => u.ref), registry);
  return Promise.all([...users.values()].map(async ({ ref, servers }): Promise<Finding> => {
    const outcome = outcomes.get(ref.raw)!.outcome;
    const base = { reference: showRef(ref), provider: ref.provider, servers };
    if (outcome instanceof McpdError) return { ...base, ok: false, error: { code: outcome.code, message: outcome.message, ...(outcome.hint ? { hint: outcome.hint } : {}) } };
    if (outcome.lease) await (await registry.get(ref.provider)).revoke?.(outcome.lease);
    return { ...base, ok: true };
  }));
}
