/**
 * Which references a config's servers use, and where: what `mcpd secrets check`, `mcpd doctor`
 * and the daemon's `secrets.check` ask the providers about (providers/check.ts).
 */
import type { ReferenceUse } from '../../providers/check.js';
import { refsOf } from '../../providers/reference.js';
import { type Config, isRemote, type ServerConfig } from './schema.js';

/** Each distinct reference in the servers' env and args (a url server's headers), with the servers using it, in the order the config uses them. */
export function referenceUses(config: Config): ReferenceUse[] {
  const users = new Map<string, ReferenceUse>();
  for (const [name, server] of Object.entries(config.mcpServers)) {
    for (const [where, text] of referenceTexts(name, server)) {
      for (const ref of refsOf(text, where)) {
        const entry = users.get(ref.raw) ?? { ref, servers: [] };
        if (!entry.servers.includes(name)) entry.servers.push(name);
        users.set(ref.raw, entry);
      }
    }
  }
  return [...users.values()];
}

/** The texts of a server that may hold references, with their JSON paths: env and args, or a url server's headers. */
export function referenceTexts(name: string, server: ServerConfig): Array<[string, string]> {
  const base = `mcpServers.${name}`;
  if (isRemote(server)) return Object.entries(server.headers).map(([k, v]): [string, string] => [`${base}.headers.${k}`, v]);
  return [
    ...Object.entries(server.env).map(([k, v]): [string, string] => [`${base}.env.${k}`, v]),
    ...server.args.map((a, i): [string, string] => [`${base}.args[${i}]`, a]),
  ];
}
