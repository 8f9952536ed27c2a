/**
 * The owner-only socket's own provider, never named in the config: a request that presents no
 * credentials there is the owner (the ssh-agent model: the socket's file mode keeps other users
 * out), unless `socket.requireToken` is set. The owner socket's chain is bearer, then this.
 */
import type { Config } from '../../config/schema.js';
import { OWNER } from '../scopes.js';
import { presentedToken } from '../token.js';
import { tokenRequired } from './bearer.js';
import type { ClientAuthProvider } from './provider.js';

/** Accepts a request without credentials as the owner while `config().socket.requireToken` is off. */
export function ownerProvider(config: () => Config): ClientAuthProvider {
  return {
    type: 'owner',
    authenticate: ({ req, url }) => {
      // A presented token, good or bad, is never taken for the owner: it is bearer's to judge.
      if (presentedToken(req, url) !== undefined || config().socket.requireToken) throw tokenRequired(url);
      return OWNER;
    },
    challenge: () => undefined,
  };
}
