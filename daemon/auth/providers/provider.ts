/**
 * One client authentication provider of a listener's chain (chain.ts): it accepts a request
 * (a Principal) or refuses it (throws a 401 or 403 McpdError naming what failed and the fix).
 * `authenticate` may return a promise, so a provider that must fetch (a JWKS for `jwt`, an
 * introspection for `oauth`) is one more file like the others; the sync ones cost no wait.
 *
 * A provider that accepts an authorization server's tokens (`jwt`, `oauth`) names it in
 * `authorizationServers`: the listener then publishes RFC 9728 metadata for each endpoint
 * (daemon/gateway/resource-metadata.ts) and its 401s point there.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { McpdError } from '../../../core/errors.js';
import type { ProtectedResource } from '../../gateway/resource-metadata.js';
import type { Principal } from '../scopes.js';

/** What a provider judges: the request as Node's HTTP parser delivered it, and its URL. */
export interface AuthRequest {
  readonly req: IncomingMessage;
  readonly url: URL;
  /** The endpoint the request is for (`/mcp/NAME`, `/v1/session/NAME`), by the listener's own URL; undefined on other paths. */
  readonly resource?: ProtectedResource | undefined;
}

export interface ClientAuthProvider {
  /** The config's `type` (`bearer`, `forwarded`, `none`, `jwt`), or `owner` for the owner-only socket. */
  readonly type: string;
  /** The principal of `request`; throws an McpdError (HTTP 401 or 403) to refuse it. */
  authenticate(request: AuthRequest): Principal | Promise<Principal>;
  /**
   * The `WWW-Authenticate` challenge a 401 (or a 403 SCOPE_INSUFFICIENT) carries for this
   * provider, given the refusal sent and the endpoint asked for; undefined when it has none.
   */
  challenge(refusal: McpdError, resource?: ProtectedResource): string | undefined;
  /** The issuer URLs of the authorization servers whose tokens it accepts for `resource` (RFC 9728 `authorization_servers`); mcpd's own is at the endpoint's origin. */
  authorizationServers?(resource?: ProtectedResource): readonly string[];
  /** The scopes a token needs for `server` (RFC 9728 `scopes_supported`, a challenge's `scope`). */
  scopesSupported?(server: string): readonly string[];
  /** Answers a plain request for a path of the provider's own (the `oauth` authorization server's); false when the path is not one. */
  serve?(req: IncomingMessage, res: ServerResponse): boolean;
}
