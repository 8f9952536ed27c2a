/**
 * One client authentication provider of a listener's chain (chain.ts): it accepts a request
 * (a Principal) or refuses it (throws a 401 or 403 McpdError naming what failed and the fix).
 * `authenticate` may return a promise, so a provider that must fetch (a JWKS for `jwt`, an
 * introspection for `oauth`) is one more file like the others; the sync ones cost no wait.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { McpdError } from '../../../core/errors.js';
import type { Principal } from '../scopes.js';

/** What a provider judges: the request as Node's HTTP parser delivered it, and its URL. */
export interface AuthRequest {
  readonly req: IncomingMessage;
  readonly url: URL;
}

export interface ClientAuthProvider {
  /** The config's `type` (`bearer`, `forwarded`, `none`), or `owner` for the owner-only socket. */
  readonly type: string;
  /** The principal of `request`; throws an McpdError (HTTP 401 or 403) to refuse it. */
  authenticate(request: AuthRequest): Principal | Promise<Principal>;
  /** The `WWW-Authenticate` challenge a 401 carries for this provider, given the refusal sent; undefined when it has none. */
  challenge(refusal: McpdError): string | undefined;
  /** Answers a plain request for a path of the provider's own (the `oauth` authorization server's); false when the path is not one. */
  serve?(req: IncomingMessage, res: ServerResponse): boolean;
}
