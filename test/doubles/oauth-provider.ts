/**
 * The in-memory authorization server of the OAuth test DOUBLE (see oauth-server.ts): an
 * `OAuthServerProvider` for the SDK's `mcpAuthRouter`, strict where mcpd's client could go wrong.
 *
 * - Authorization answers at once (no login page): a redirect with `code` and `state`, or with
 *   `error=access_denied` while `settings.deny`; a scope outside `scopesSupported` is `invalid_scope`.
 * - Codes are single-use and bound to their client, redirect_uri and PKCE challenge (the router
 *   checks S256 against `challengeForAuthorizationCode`).
 * - Access tokens live `settings.accessTokenSeconds`; refresh tokens ROTATE and are single-use:
 *   a refresh token sent twice is `invalid_grant`, recorded in `violations`, and ends its whole
 *   grant (every access token of it stops working), as OAuth 2.1 asks of a server that sees reuse.
 * - A refresh asking for a scope its grant does not hold is `invalid_scope`: step-up needs a new
 *   authorization, not a refresh (typescript-sdk #2255).
 * - Every value it hands out (access and refresh tokens, codes, client secrets) is kept in `issued`.
 */
import { randomBytes } from 'node:crypto';
import type { AuthorizationParams, OAuthServerProvider } from '@modelcontextprotocol/sdk/server/auth/provider.js';
import type { OAuthRegisteredClientsStore } from '@modelcontextprotocol/sdk/server/auth/clients.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import {
  InvalidClientMetadataError, InvalidGrantError, InvalidScopeError, InvalidTokenError,
} from '@modelcontextprotocol/sdk/server/auth/errors.js';
import type { OAuthClientInformationFull, OAuthTokenRevocationRequest, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';

/** What a test may change while the double runs. */
export interface AuthSettings {
  /** Lifetime of each access token, in seconds (fractions allowed). */
  accessTokenSeconds: number;
  /** Whether token grants include a refresh token. */
  issueRefreshTokens: boolean;
  /** 'refuse': the registration endpoint answers 400 invalid_client_metadata. */
  registration: 'open' | 'refuse';
  /** The user says no: authorize redirects with error=access_denied. */
  deny: boolean;
  /** Every refresh_token grant answers invalid_grant (an AS that forgot its grants). */
  refuseRefresh: boolean;
  /** Scopes granted when an authorization asks for none. */
  defaultScopes: string[];
}

export type TokenOutcome = 'issued' | 'invalid_grant' | 'reused' | 'invalid_scope';

export interface AuthorizationRecord {
  readonly clientId: string;
  readonly scopes: string[];
  /** The RFC 8707 `resource` the request named, if any. */
  readonly resource: string | undefined;
  readonly redirectUri: string;
  readonly state: string | undefined;
  readonly outcome: 'code' | 'denied' | 'invalid_scope';
}

export interface TokenRecord {
  readonly grant: 'authorization_code' | 'refresh_token';
  readonly clientId: string;
  /** Scopes of the issued token, or those asked for when refused. */
  readonly scopes: string[] | undefined;
  readonly resource: string | undefined;
  readonly outcome: TokenOutcome;
}

export interface Violation {
  readonly kind: 'refresh-reuse' | 'code-reuse';
  readonly clientId: string;
  readonly at: number;
}

interface Code { clientId: string; challenge: string; redirectUri: string; scopes: string[]; resource: string | undefined; used: boolean }
interface Grant { clientId: string; scopes: string[]; resource: string | undefined; ended: boolean }
interface Access { grant: Grant; expiresAt: number; serial: number; revoked: boolean }
interface Refresh { grant: Grant; used: boolean; invalid: boolean }

const secret = (prefix: string) => `${prefix}_${randomBytes(24).toString('base64url')}`;

/** The authorization server's state, records, and the provider the SDK's router calls. */
export class AuthState {
  readonly settings: AuthSettings;
  readonly scopesSupported: readonly string[];
  readonly registrations: OAuthClientInformationFull[] = [];
  readonly authorizations: AuthorizationRecord[] = [];
  readonly tokenRequests: TokenRecord[] = [];
  readonly violations: Violation[] = [];
  /** Every token value a revocation request carried, with what it was. */
  readonly revocations: Array<{ clientId: string; token: string; kind: 'access' | 'refresh' | 'unknown' }> = [];
  readonly issued = { access: [] as string[], refresh: [] as string[], codes: [] as string[], clientSecrets: [] as string[] };
  readonly #clients = new Map<string, OAuthClientInformationFull>();
  readonly #codes = new Map<string, Code>();
  readonly #access = new Map<string, Access>();
  readonly #refresh = new Map<string, Refresh>();

  constructor(settings: AuthSettings, scopesSupported: readonly string[], clients: readonly OAuthClientInformationFull[]) {
    this.settings = settings;
    this.scopesSupported = scopesSupported;
    for (const client of clients) {
      this.#clients.set(client.client_id, client);
      if (client.client_secret) this.issued.clientSecrets.push(client.client_secret);
    }
  }

  /** The provider for `mcpAuthRouter`: without registration when `registration` is false, without revocation when `revocation` is false. */
  provider(registration: boolean, revocation: boolean): OAuthServerProvider {
    const clientsStore: OAuthRegisteredClientsStore = {
      getClient: (id) => this.#clients.get(id),
      ...(registration ? { registerClient: (client: Omit<OAuthClientInformationFull, 'client_id' | 'client_id_issued_at'>) => this.#register(client) } : {}),
    };
    return {
      clientsStore,
      authorize: (client, params, res: { redirect(status: number, url: string): void }) => this.#authorize(client, params, res),
      challengeForAuthorizationCode: (client, code) => this.#challenge(client, code),
      exchangeAuthorizationCode: (client, code, _verifier, redirectUri, resource) => this.#exchangeCode(client, code, redirectUri, resource),
      exchangeRefreshToken: (client, token, scopes, resource) => this.#exchangeRefresh(client, token, scopes, resource),
      verifyAccessToken: (token) => this.verify(token),
      ...(revocation ? { revokeToken: (client: OAuthClientInformationFull, request: OAuthTokenRevocationRequest) => this.#revoke(client, request) } : {}),
    };
  }

  /** What the resource server learns from a bearer token; InvalidTokenError when unknown, revoked or expired. */
  verify(token: string): Promise<AuthInfo> {
    const access = this.#access.get(token);
    if (!access || access.revoked || access.grant.ended) return Promise.reject(new InvalidTokenError('Unknown or revoked token'));
    if (Date.now() >= access.expiresAt) return Promise.reject(new InvalidTokenError('Token has expired'));
    return Promise.resolve({
      token, clientId: access.grant.clientId, scopes: [...access.grant.scopes], expiresAt: access.expiresAt / 1000,
      resource: access.grant.resource ? new URL(access.grant.resource) : undefined, extra: { serial: access.serial },
    });
  }

  /** Every refresh token issued so far answers invalid_grant from now on (new ones work). */
  invalidateRefreshTokens(): void {
    for (const refresh of this.#refresh.values()) refresh.invalid = true;
  }

  /** Every access token issued so far is expired from now on. */
  expireAccessTokens(): void {
    for (const access of this.#access.values()) access.expiresAt = Math.min(access.expiresAt, Date.now());
  }

  #register(client: Omit<OAuthClientInformationFull, 'client_id' | 'client_id_issued_at'>): OAuthClientInformationFull {
    if (this.settings.registration === 'refuse') throw new InvalidClientMetadataError('This authorization server does not accept new registrations');
    // The SDK's handler has already generated client_id and secret; they arrive typed as omitted.
    const full = client as OAuthClientInformationFull;
    this.#clients.set(full.client_id, full);
    this.registrations.push(full);
    if (full.client_secret) this.issued.clientSecrets.push(full.client_secret);
    return full;
  }

  async #authorize(client: OAuthClientInformationFull, params: AuthorizationParams, res: { redirect(status: number, url: string): void }): Promise<void> {
    // The SDK splits `scope=` on spaces, so an empty parameter arrives as [''].
    const asked = (params.scopes ?? []).filter((scope) => scope !== '');
    const scopes = asked.length > 0 ? asked : [...this.settings.defaultScopes];
    const record = { clientId: client.client_id, scopes, resource: params.resource?.href, redirectUri: params.redirectUri, state: params.state };
    const target = new URL(params.redirectUri);
    if (this.settings.deny) {
      this.authorizations.push({ ...record, outcome: 'denied' });
      target.searchParams.set('error', 'access_denied');
      target.searchParams.set('error_description', 'The user denied the request');
    } else {
      const unknown = scopes.filter((scope) => !this.scopesSupported.includes(scope));
      if (unknown.length > 0) {
        this.authorizations.push({ ...record, outcome: 'invalid_scope' });
        throw new InvalidScopeError(`Unknown scope: ${unknown.join(' ')}`);
      }
      const code = secret('code');
      this.issued.codes.push(code);
      this.#codes.set(code, { clientId: client.client_id, challenge: params.codeChallenge, redirectUri: params.redirectUri, scopes, resource: record.resource, used: false });
      this.authorizations.push({ ...record, outcome: 'code' });
      target.searchParams.set('code', code);
    }
    if (params.state !== undefined) target.searchParams.set('state', params.state);
    res.redirect(302, target.href);
  }

  #challenge(client: OAuthClientInformationFull, code: string): Promise<string> {
    const found = this.#codes.get(code);
    if (!found || found.clientId !== client.client_id) return Promise.reject(new InvalidGrantError('Unknown authorization code'));
    return Promise.resolve(found.challenge);
  }

  #exchangeCode(client: OAuthClientInformationFull, code: string, redirectUri: string | undefined, resource: URL | undefined): Promise<OAuthTokens> {
    const refused = (message: string) => {
      this.tokenRequests.push({ grant: 'authorization_code', clientId: client.client_id, scopes: undefined, resource: resource?.href, outcome: 'invalid_grant' });
      return Promise.reject(new InvalidGrantError(message));
    };
    const found = this.#codes.get(code);
    if (!found || found.clientId !== client.client_id) return refused('Unknown authorization code');
    if (found.used) {
      this.violations.push({ kind: 'code-reuse', clientId: client.client_id, at: Date.now() });
      return refused('Authorization code already used');
    }
    found.used = true;
    if (redirectUri !== found.redirectUri) return refused('redirect_uri does not match the authorization request');
    if (found.resource !== undefined && resource?.href !== found.resource) return refused('resource does not match the authorization request');
    const grant: Grant = { clientId: client.client_id, scopes: found.scopes, resource: found.resource ?? resource?.href, ended: false };
    this.tokenRequests.push({ grant: 'authorization_code', clientId: client.client_id, scopes: grant.scopes, resource: grant.resource, outcome: 'issued' });
    return Promise.resolve(this.#tokens(grant));
  }

  #exchangeRefresh(client: OAuthClientInformationFull, token: string, asked: string[] | undefined, resource: URL | undefined): Promise<OAuthTokens> {
    const refused = (outcome: TokenOutcome, error: Error) => {
      this.tokenRequests.push({ grant: 'refresh_token', clientId: client.client_id, scopes: asked, resource: resource?.href, outcome });
      return Promise.reject(error);
    };
    const refresh = this.#refresh.get(token);
    if (!refresh || refresh.grant.clientId !== client.client_id) return refused('invalid_grant', new InvalidGrantError('Unknown refresh token'));
    if (refresh.used) {
      this.violations.push({ kind: 'refresh-reuse', clientId: client.client_id, at: Date.now() });
      refresh.grant.ended = true;
      return refused('reused', new InvalidGrantError('Refresh token already used'));
    }
    if (refresh.invalid || refresh.grant.ended || this.settings.refuseRefresh) return refused('invalid_grant', new InvalidGrantError('Refresh token is no longer valid'));
    const scopes = asked?.filter((scope) => scope !== '');
    if (scopes && scopes.length > 0 && !scopes.every((scope) => refresh.grant.scopes.includes(scope))) {
      return refused('invalid_scope', new InvalidScopeError(`The grant does not hold: ${scopes.filter((s) => !refresh.grant.scopes.includes(s)).join(' ')}`));
    }
    if (resource && refresh.grant.resource !== undefined && resource.href !== refresh.grant.resource) {
      return refused('invalid_grant', new InvalidGrantError('resource does not match the grant'));
    }
    refresh.used = true;
    this.tokenRequests.push({ grant: 'refresh_token', clientId: client.client_id, scopes: refresh.grant.scopes, resource: resource?.href, outcome: 'issued' });
    return Promise.resolve(this.#tokens(refresh.grant));
  }

  #tokens(grant: Grant): OAuthTokens {
    const access = secret('at');
    this.issued.access.push(access);
    const lifetime = this.settings.accessTokenSeconds;
    this.#access.set(access, { grant, expiresAt: Date.now() + lifetime * 1000, serial: this.issued.access.length, revoked: false });
    const tokens: OAuthTokens = { access_token: access, token_type: 'Bearer', expires_in: lifetime, scope: grant.scopes.join(' ') };
    if (this.settings.issueRefreshTokens) {
      const refresh = secret('rt');
      this.issued.refresh.push(refresh);
      this.#refresh.set(refresh, { grant, used: false, invalid: false });
      tokens.refresh_token = refresh;
    }
    return tokens;
  }

  #revoke(client: OAuthClientInformationFull, request: OAuthTokenRevocationRequest): Promise<void> {
    const access = this.#access.get(request.token);
    const refresh = this.#refresh.get(request.token);
    const kind = access ? 'access' : refresh ? 'refresh' : 'unknown';
    this.revocations.push({ clientId: client.client_id, token: request.token, kind });
    // RFC 7009: revoking a refresh token ends its grant; a token of another client is left alone.
    if (access && access.grant.clientId === client.client_id) access.revoked = true;
    if (refresh && refresh.grant.clientId === client.client_id) refresh.grant.ended = true;
    return Promise.resolve();
  }
}
