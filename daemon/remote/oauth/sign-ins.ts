/**
 * Every url server's sign-in, one ServerAuth per server name, made on first use and kept while
 * the server's URL and OAuth settings stay as they are (a reload that changes them starts
 * afresh; the stored record, keyed by URL, is found again). The daemon has one; `mcpd run
 * --no-daemon` makes one for its server.
 */
import type { Clock } from '../../../core/clock.js';
import { isRemote, type RemoteServerConfig, type ServerConfig } from '../../config/schema.js';
import type { Provider } from '../../../providers/provider.js';
import type { FetchLike } from '../origin-fetch.js';
import { AuthRecords } from './auth-record.js';
import type { AuthStatus } from './auth-status.js';
import { callbackPorts } from './callback.js';
import { ServerAuth } from './server-auth.js';
import { hasAuthorization, signsIn } from '../prepare-remote.js';
import { McpdError } from '../../../core/errors.js';
import { own } from '../../../core/own.js';

export interface SignInDeps {
  /** The default store (`secret:`), asked at each use. */
  readonly store: () => Promise<Provider>;
  readonly clock: Clock;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly log: (event: string, fields: Record<string, unknown>) => void;
  /** Resolves references in a server's OAuth settings (`mcpServers.NAME.oauth.KEY`). */
  readonly resolve: (name: string, values: Record<string, string>) => Promise<Record<string, string>>;
  readonly fetch?: FetchLike;
}

export class SignIns {
  readonly #deps: SignInDeps;
  readonly #byName = new Map<string, { key: string; auth: ServerAuth }>();

  constructor(deps: SignInDeps) {
    this.#deps = deps;
  }

  /** The sign-in of url server `name` as `server` defines it now. */
  of(name: string, server: RemoteServerConfig): ServerAuth {
    const key = JSON.stringify([server.url, server.oauth ?? null]);
    const known = this.#byName.get(name);
    if (known?.key === key) return known.auth;
    known?.auth.abandon('the server\'s definition changed');
    const settings = server.oauth === false ? undefined : server.oauth;
    const auth = new ServerAuth({
      name,
      url: server.url,
      settings,
      records: new AuthRecords(server.url, this.#deps.store),
      clock: this.#deps.clock,
      fetch: this.#deps.fetch ?? ((url, init) => fetch(url, init)),
      ports: callbackPorts(settings?.callbackPort, this.#deps.env),
      resolve: (values) => this.#deps.resolve(name, values),
      log: this.#deps.log,
      sdk: () => import('../sdk-transports.js'),
    });
    this.#byName.set(name, { key, auth });
    return auth;
  }

  /** The sign-in of url server `name` of `servers`, for `mcpd auth`; an error naming the server when it has none. */
  named(name: string, servers: Readonly<Record<string, ServerConfig>>): ServerAuth {
    const server = own(servers, name);
    if (!server) throw new McpdError('SERVER_UNKNOWN', `no server named "${name}" in the daemon's config`, { hint: 'mcpd ls lists the servers' });
    if (!isRemote(server)) throw new McpdError('USAGE', `server "${name}" is a command server: mcpd signs in only to url servers`, { hint: `mcpd auth status lists the url servers` });
    if (!signsIn({ headers: server.headers, oauth: server.oauth })) {
      throw new McpdError('USAGE', `server "${name}" does not sign in: ${server.oauth === false ? '"oauth": false' : 'its config sends an Authorization header'} (mcpServers.${name})`, {
        hint: server.oauth === false ? `remove "oauth": false from mcpServers.${name} to let mcpd sign in` : `remove the Authorization header from mcpServers.${name}.headers to let mcpd sign in instead`,
      });
    }
    return this.of(name, server);
  }

  /** `mcpd auth status`: every url server of `servers`, in config order. */
  async status(servers: Readonly<Record<string, ServerConfig>>): Promise<AuthStatus[]> {
    const out: AuthStatus[] = [];
    for (const [name, server] of Object.entries(servers)) {
      if (!isRemote(server)) continue;
      const header = hasAuthorization(server.headers);
      if (header || server.oauth === false) {
        out.push({ server: name, url: server.url, method: header ? 'headers' : 'none', state: header ? 'signed-in' : 'signed-out' });
        continue;
      }
      const auth = this.of(name, server);
      await auth.load();
      out.push(auth.status());
    }
    return out;
  }

  /** Ends every sign-in waiting for the user (the daemon is stopping). */
  abandonAll(reason: string): void {
    for (const { auth } of this.#byName.values()) auth.abandon(reason);
  }
}
