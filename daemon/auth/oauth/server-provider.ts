/**
 * The SDK's OAuthServerProvider over OAuthIssuer: what the router (as-app.ts) calls once it has
 * checked a request's form (client, redirect URI, PKCE S256 only). Registered clients are
 * public (PKCE is their proof, RFC 9700 §2.1.1): no client secret is issued, so none is stored.
 * An authorization request becomes a consent waiting for the owner (consent.ts).
 */
import type { Response } from 'express';
import type { AuthorizationParams, OAuthServerProvider } from '@modelcontextprotocol/sdk/server/auth/provider.js';
import type { OAuthClientInformationFull, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type * as Sdk from './sdk-auth.js';
import { MCP_PATH } from '../../gateway/gateway.js';
import { IssuerRefusal, type OAuthIssuer, type Ttl } from './issuer.js';
import type { IssuedTokens, OAuthClient } from './grants.js';
import { CONSENT_PATH } from './consent.js';
import { canonicalResource } from './resource.js';

export interface IssuerSettings {
  /** The issuer's URL; an asked resource must be an endpoint under its origin. */
  readonly issuer: URL;
  readonly ttl: Ttl;
  /** Roles every issued token gives (the entry's `roles`). */
  readonly roles: readonly string[];
}

/** The provider the SDK's router serves `settings.issuer` with. */
export function serverProvider(sdk: typeof Sdk, issuer: OAuthIssuer, settings: IssuerSettings): OAuthServerProvider {
  const refusal = (error: unknown): unknown => {
    if (!(error instanceof IssuerRefusal)) return error;
    const Class = { invalid_grant: sdk.InvalidGrantError, invalid_target: sdk.InvalidTargetError, invalid_request: sdk.InvalidRequestError, access_denied: sdk.AccessDeniedError }[error.error];
    return new Class(error.description);
  };
  const guarded = async <T>(run: () => Promise<T> | T): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw refusal(error);
    }
  };
  return {
    clientsStore: {
      getClient: (id) => issuer.store.client(id) as OAuthClientInformationFull | undefined,
      registerClient: async (asked) => {
        for (const uri of asked.redirect_uris) checkRedirect(sdk, uri);
        const { client_secret: _secret, client_secret_expires_at: _expiry, ...rest } = asked as OAuthClientInformationFull;
        const client = { ...rest, token_endpoint_auth_method: 'none' } as OAuthClient & OAuthClientInformationFull;
        await issuer.register(client);
        return client;
      },
    },
    authorize: (client, params, res) => guarded(() => authorize(issuer, settings, client, params, res)),
    challengeForAuthorizationCode: (client, code) => guarded(() => issuer.challengeOf(client.client_id, code)),
    exchangeAuthorizationCode: (client, code, _verifier, redirectUri, resource) =>
      guarded(async () => response(await issuer.exchange(client.client_id, code, redirectUri, resource?.href, settings.ttl), settings.ttl)),
    exchangeRefreshToken: (client, token, _scopes, resource) => guarded(async () => response(await issuer.refresh(client.client_id, token, resource?.href, settings.ttl), settings.ttl)),
    verifyAccessToken: (token) => guarded((): AuthInfo => {
      const grant = issuer.store.byAccess(token);
      if (!grant || issuer.problemOf(grant, 'access')) throw new sdk.InvalidTokenError('unknown, revoked or expired access token');
      return { token, clientId: grant.clientId, scopes: grant.scopes, expiresAt: Math.floor(Date.parse(grant.accessExpiresAt) / 1000), resource: new URL(grant.resource) };
    }),
    revokeToken: (client, request) => guarded(() => issuer.revokeToken(client.client_id, request.token)),
  };
}

async function authorize(issuer: OAuthIssuer, settings: IssuerSettings, client: OAuthClientInformationFull, params: AuthorizationParams, res: Response): Promise<void> {
  const resource = params.resource;
  // RFC 8707: the token is bound to one endpoint, so the client must say which.
  if (!resource) throw new IssuerRefusal('invalid_request', `name the endpoint with the resource parameter (RFC 8707), e.g. ${new URL(`${MCP_PATH}NAME`, settings.issuer).href}`);
  const endpoint = canonicalResource(resource, settings.issuer.origin);
  if (!endpoint) throw new IssuerRefusal('invalid_target', `${resource.href} is not an endpoint of this server: expected ${settings.issuer.origin}${MCP_PATH}NAME`);
  const consent = issuer.ask({
    clientId: client.client_id,
    clientName: client.client_name?.trim() || 'an unnamed client',
    redirectUri: params.redirectUri,
    scopes: params.scopes ?? [],
    codeChallenge: params.codeChallenge,
    state: params.state,
    resource: endpoint,
    roles: settings.roles,
  });
  res.redirect(302, `${CONSENT_PATH}?id=${consent.id}&k=${consent.key}`);
}

/** The token endpoint's answer: the one place the new tokens exist in plaintext. */
function response({ grant, accessToken, refreshToken }: IssuedTokens, ttl: Ttl): OAuthTokens {
  return { access_token: accessToken, token_type: 'Bearer', expires_in: Math.floor(ttl.access / 1000), refresh_token: refreshToken, ...(grant.scopes.length ? { scope: grant.scopes.join(' ') } : {}) };
}

/** Redirect URIs are https, or http on loopback (RFC 8252 §7.3): an authorization code never crosses a network in the clear. */
function checkRedirect(sdk: typeof Sdk, uri: string): void {
  const url = new URL(uri);
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol === 'https:' || (url.protocol === 'http:' && loopback)) return;
  throw new sdk.InvalidRequestError(`redirect URI ${url.protocol}//${url.host} is refused: use https, or http on localhost, 127.0.0.1 or [::1]`);
}
