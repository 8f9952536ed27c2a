/**
 * What a config edit changes, server by server, so a reload restarts only what it must: a
 * server whose definition changed, or that uses a provider whose settings changed. Open
 * sessions of every other server are left alone.
 */
import { isDeepStrictEqual } from 'node:util';
import { refsOf } from '../../providers/reference.js';
import { type Config, isRemote, type ServerConfig } from './schema.js';

export interface ConfigDiff {
  readonly added: string[];
  readonly removed: string[];
  readonly changed: string[];
  /** Settings the daemon reads only when it starts (the WebSocket size limit, the audit and daemon logs) that this edit changed: they apply from its next start. */
  readonly atNextStart: string[];
}

/** The settings a running daemon does not take up on reload. */
const READ_AT_START = [
  ['daemon.maxMessageBytes', (c: Config) => c.daemon.maxMessageBytes],
  ['daemon.audit', (c: Config) => c.daemon.audit],
  ['daemon.log', (c: Config) => c.daemon.log],
] as const;

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
      .filter((name) => !isDeepStrictEqual(launched(before.mcpServers[name]!), launched(after.mcpServers[name]!)) || usesAny(after.mcpServers[name]!, changedProviders))
      .sort(),
    atNextStart: changedAtNextStart(before, after),
  };
}

/** The settings read only at the daemon's start that differ between `before` and `after`. */
export function changedAtNextStart(before: Config, after: Config): string[] {
  return READ_AT_START.filter(([, read]) => !isDeepStrictEqual(read(before), read(after))).map(([path]) => path);
}

/** What a running process was started from: `warm` only sizes the pool (supervisor/warm-pool.ts), so changing it restarts no session. */
function launched(server: ServerConfig): object {
  if (isRemote(server)) return server;
  const { warm: _warm, ...rest } = server;
  return rest;
}

function usesAny(server: ServerConfig, providers: ReadonlySet<string>): boolean {
  if (providers.size === 0) return false;
  const texts = isRemote(server) ? Object.values(server.headers) : [server.command, ...server.args, server.cwd ?? '', ...Object.values(server.env)];
  return texts.some((text) => refsOf(text, 'reload').some((ref) => providers.has(ref.provider)));
}
