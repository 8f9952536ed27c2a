/**
 * From a url server's definition to what a connection needs: its header references resolved
 * with the rules env follows (a header whose references all come out empty is left out), for
 * the daemon and `mcpd run --no-daemon` alike. Nothing is sent anywhere here.
 */
import type { OAuthSettings, RemoteServerConfig } from '../config/schema.js';
import { showRef } from '../../providers/provider.js';
import type { ProviderRegistry } from '../../providers/registry.js';
import { resolveEnv } from '../../providers/resolver.js';
import type { HeldLease } from '../supervisor/leases.js';

export interface PreparedRemote {
  readonly kind: 'remote';
  readonly name: string;
  readonly url: string;
  readonly transport: 'http' | 'sse';
  /** Header → value, sent to the server's own origin only (origin-fetch.ts). */
  readonly headers: Readonly<Record<string, string>>;
  /** Every reference the headers used, for status and the audit log; never values. */
  readonly refs: readonly string[];
  /** Leases of the header values, kept while the connection lives. */
  readonly leases: readonly HeldLease[];
  /** The server's OAuth settings; `false` turns signing in off. */
  readonly oauth: OAuthSettings | false | undefined;
}

/** Whether `headers` carry an Authorization of their own. */
export function hasAuthorization(headers: Readonly<Record<string, string>>): boolean {
  return Object.keys(headers).some((name) => name.toLowerCase() === 'authorization');
}

/** Whether mcpd signs in to the server (OAuth, or a token given to `mcpd auth login`): not when the config sends an Authorization header, or says `"oauth": false`. */
export function signsIn(spec: Pick<PreparedRemote, 'headers' | 'oauth'>): boolean {
  return spec.oauth !== false && !hasAuthorization(spec.headers);
}

/** Resolves the headers of `server` (at `where`, `mcpServers.NAME`); `note` gets --verbose lines (never values). */
export async function prepareRemote(name: string, server: RemoteServerConfig, where: string, registry: ProviderRegistry, note: (message: string) => void): Promise<PreparedRemote> {
  const resolved = await resolveEnv({ env: server.headers }, registry, (header) => `${where}.headers.${header}`);
  for (const { variable, reason } of resolved.dropped) note(`left out header ${variable}: ${reason}`);
  return {
    kind: 'remote',
    name,
    url: server.url,
    transport: server.type,
    headers: resolved.env,
    refs: resolved.refs.map(showRef),
    leases: resolved.leases.map(({ ref, lease }) => ({ ref: showRef(ref), provider: ref.provider, lease })),
    oauth: server.oauth,
  };
}
