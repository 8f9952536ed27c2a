/**
 * `none`: no credentials; every request is `anonymous` with the entry's roles. Only a TCP
 * listener bound to a loopback host may have it (config/listen-checks.ts refuses it elsewhere
 * at load), so only someone already on this machine is admitted.
 *
 *     "auth": [{ "type": "bearer" }, { "type": "none", "roles": ["reader"] }]
 */
import type { Principal } from '../scopes.js';
import type { ClientAuthProvider } from './provider.js';

/** The provider of a `{ "type": "none" }` entry. */
export function noneProvider(entry: { readonly roles: readonly string[] }): ClientAuthProvider {
  const principal: Principal = { kind: 'anonymous', subject: 'anonymous', roles: [...entry.roles] };
  return {
    type: 'none',
    authenticate: () => principal,
    challenge: () => undefined,
  };
}
