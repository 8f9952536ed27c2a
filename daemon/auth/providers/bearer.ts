/**
 * `bearer`: mcpd's client tokens, `Authorization: Bearer TOKEN`: those `mcpd token create`
 * made (the token store) and the config's `clients` (a SHA-256, scopes and roles). The token
 * is checked by ClientAccess (daemon/auth/access.ts), which notes its use in the audit log.
 *
 *     "auth": [{ "type": "bearer" }]
 */
import { McpdError } from '../../../core/errors.js';
import type { ClientAccess } from '../access.js';
import { presentedToken } from '../token.js';
import type { ClientAuthProvider } from './provider.js';

/** The challenge of RFC 6750; `error="invalid_token"` when a token was presented and refused. */
export function bearerChallenge(refusal: McpdError | undefined): string {
  return refusal?.code === 'TOKEN_INVALID' ? 'Bearer realm="mcpd", error="invalid_token"' : 'Bearer realm="mcpd"';
}

/** The refusal of a request that presents no token where one is needed. */
export function tokenRequired(url: URL): McpdError {
  return new McpdError('TOKEN_REQUIRED', `${url.pathname} needs a client token on this listener`, {
    hint: 'send "Authorization: Bearer TOKEN" (set $MCPD_TOKEN for the mcpd CLI); mcpd token create NAME --scope ... makes one',
  });
}

/** The provider of a `{ "type": "bearer" }` entry (and of the owner-only socket's tokens). */
export function bearerProvider(access: ClientAccess): ClientAuthProvider {
  return {
    type: 'bearer',
    authenticate: ({ req, url }) => {
      const token = presentedToken(req, url);
      if (token === undefined) throw tokenRequired(url);
      return access.verify(token, url.pathname);
    },
    // Another provider's 403 for a token it verified is answered by that provider's challenge alone.
    challenge: (refusal) => (refusal.code === 'SCOPE_INSUFFICIENT' ? undefined : bearerChallenge(refusal)),
  };
}
