/**
 * Which references a config's servers use, and where: what `mcpd secrets check`, `mcpd doctor`
 * and the daemon's `secrets.check` ask the providers about (providers/check.ts).
 */
import type { ReferenceUse } from '../../providers/check.js';
import { refsOf } from '../../providers/reference.js';
import type { Config } from './schema.js';

/** Each distinct reference in the servers' env and args, with the servers using it, in the order the config uses them. */
export function referenceUses(config: Config): ReferenceUse[] {
  const users = new Map<string, ReferenceUse>();
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
  return [...users.values()];
}
