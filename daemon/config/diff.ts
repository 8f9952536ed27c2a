/**
 * What a config edit changes, server by server, so a reload restarts only what it must: a
 * server whose definition changed, or that uses a provider whose settings changed. Open
 * sessions of every other server are left alone.
 */
import { isDeepStrictEqual } from 'node:util';
import { refsOf } from '../../providers/reference.js';
import type { Config, ServerConfig } from './schema.js';

export interface ConfigDiff {
  readonly added: string[];
  readonly removed: string[];
  readonly changed: string[];
}

export function diffConfig(before: Config, after: Config): ConfigDiff {
  const names = (c: Config) => Object.keys(c.mcpServers);
  const changedProviders = new Set(
    [...new Set([...Object.keys(before.providers), ...Object.keys(after.providers)])]
      .filter((name) => !isDeepStrictEqual(before.providers[name], after.providers[name])),
  );
  return {
    added: names(after).filter((name) => !(name in before.mcpServers)).sort(),
    removed: names(before).filter((name) => !(name in after.mcpServers)).sort(),
    changed: names(after)
      .filter((name) => name in before.mcpServers)
      .filter((name) => !isDeepStrictEqual(before.mcpServers[name], after.mcpServers[name]) || usesAny(after.mcpServers[name]!, changedProviders))
      .sort(),
  };
}

function usesAny(server: ServerConfig, providers: ReadonlySet<string>): boolean {
  if (providers.size === 0) return false;
  const texts = [server.command, ...server.args, server.cwd ?? '', ...Object.values(server.env)];
  return texts.some((text) => refsOf(text, 'reload').some((ref) => providers.has(ref.provider)));
}
