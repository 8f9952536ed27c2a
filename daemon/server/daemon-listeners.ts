/**
 * The daemon's listeners as HTTP servers: every one serves the same routes (the shared
 * handlers), each judges who a request is by its own chain of client authentication providers
 * (README "Listeners and who may connect"): the owner-only socket's, or its `socket.listen` entry's.
 */
import type { Server } from 'node:http';
import ms from 'ms';
import type { ClientAccess } from '../auth/access.js';
import { AuthChain } from '../auth/providers/chain.js';
import type { ProviderContext } from '../auth/providers/registry.js';
import type { Config, ListenSpec } from '../config/schema.js';
import { DEFAULT_IDLE_MS } from '../gateway/gateway.js';
import { createSocketServer, type SocketHandlers } from './http.js';
import { readTls } from './tls.js';

/** What every listener shares: all but who a request is. */
export type SharedHandlers = Omit<SocketHandlers, AuthHandler>;
type AuthHandler = 'authenticate' | 'challenge' | 'resourceMetadata' | 'serveAuth';

export interface ListenerDeps {
  readonly access: ClientAccess;
  /** The config now: a reload replaces it. */
  readonly config: () => Config;
  /** What the `oauth` and `jwt` providers need besides (the issuer, the log, the audit). */
  readonly extras: Pick<ProviderContext, 'oauth' | 'note' | 'audit'>;
}

/** The owner-only socket's server: a client token, else the owner. */
export function ownerSocketServer(handlers: SharedHandlers, deps: ListenerDeps): Server {
  return createSocketServer({ ...handlers, ...authBy(AuthChain.forOwnerSocket(deps.access, deps.config)) });
}

/** Makes the server of `socket.listen[index]`: its chain, its idle timeout, TLS and Host check on a TCP port. */
export function extraListener(handlers: SharedHandlers, deps: ListenerDeps): (spec: ListenSpec, index: number) => Server {
  return (spec, index) => {
    const where = `socket.listen[${index}]`;
    const idleMs = spec.idleTimeout === undefined ? DEFAULT_IDLE_MS : ms(spec.idleTimeout as ms.StringValue);
    const origin = { publicUrl: spec.publicUrl, tls: 'port' in spec && spec.tls !== undefined, unix: !('port' in spec) };
    const listener = { ...handlers, ...authBy(AuthChain.forListener(spec.auth, index, deps.access, deps.config, origin, deps.extras)) };
    if (!('port' in spec)) return createSocketServer(listener, { idleMs });
    return createSocketServer(listener, { idleMs, tcp: { allowedHosts: spec.allowedHosts ?? [], where }, ...(spec.tls ? { tls: readTls(spec.tls, where) } : {}) });
  };
}

/** A listener's handlers for who a request is: its own chain of providers. */
function authBy(chain: AuthChain): Pick<SocketHandlers, AuthHandler> {
  return {
    authenticate: (req, url) => chain.authenticate(req, url),
    challenge: (refusal, req, url) => chain.challenge(refusal, req, url),
    resourceMetadata: (req, url) => chain.metadata(req, url),
    serveAuth: (req, res) => chain.serve(req, res),
  };
}
