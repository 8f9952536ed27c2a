/**
 * `mcpd secrets check`: resolves every reference the config uses, as a launch would, and says
 * for each whether it resolves — by name and provider, never by value. Leases taken to check a
 * dynamic secret are revoked at once.
 */
import { McpdError } from '../../core/errors.js';
import { type Ref, showRef } from '../../providers/provider.js';
import { refsOf } from '../../providers/reference.js';
import { resolveAll } from '../../providers/resolver.js';
import { type GlobalOptions, openConfig, openRegistry, output } from '../context.js';

interface Finding {
  reference: string;
  provider: string;
  servers: string[];
  ok: boolean;
  error?: { code: string; message: string; hint?: string };
}

export async function check(options: GlobalOptions): Promise<void> {
  const loaded = await openConfig(options, true);
  const registry = openRegistry(loaded, options);
  const users = new Map<string, { ref: Ref; servers: string[] }>();
  for (const [name, server] of Object.entries(loaded.config.mcpServers)) {
    const texts: Array<[string, string]> = [...Object.entries(server.env).map(([k, v]): [string, string] => [`mcpServers.${name}.env.${k}`, v]), ...server.args.map((a, i): [string, string] => [`mcpServers.${name}.args[${i}]`, a])];
    for (const [where, text] of texts) {
      for (const ref of refsOf(text, where)) {
        const entry = users.get(ref.raw) ?? { ref, servers: [] };
        if (!entry.servers.includes(name)) entry.servers.push(name);
        users.set(ref.raw, entry);
      }
    }
  }
  let findings: Finding[];
  try {
    const outcomes = await resolveAll([...users.values()].map((u) => u.ref), registry);
    findings = await Promise.all([...users.values()].map(async ({ ref, servers }) => {
      const outcome = outcomes.get(ref.raw)!.outcome;
      const base = { reference: showRef(ref), provider: ref.provider, servers };
      if (outcome instanceof McpdError) return { ...base, ok: false, error: { code: outcome.code, message: outcome.message, ...(outcome.hint ? { hint: outcome.hint } : {}) } };
      if (outcome.lease) await (await registry.get(ref.provider)).revoke?.(outcome.lease);
      return { ...base, ok: true };
    }));
  } finally {
    await registry.close();
  }
  const failed = findings.filter((f) => !f.ok).length;
  output(options, findings, () => [
    ...findings.map((f) => `${f.ok ? 'ok   ' : 'ERROR'}  ${f.reference} (${f.provider}) used by ${f.servers.join(', ')}${f.error ? `\n       ${f.error.message}${f.error.hint ? `\n       hint: ${f.error.hint}` : ''}` : ''}`),
    `${findings.length - failed} of ${findings.length} reference(s) resolve${failed ? `; ${failed} do not` : ''}`,
  ].join('\n'));
  if (failed) process.exitCode = 3;
}
