/**
 * An OAuth 2.1 authorization server and an MCP server it protects: a test DOUBLE for mcpd's
 * remote OAuth (issue 14), built on the SDK's own server pieces so the wire is the SDK's:
 *
 * - the authorization server is `mcpAuthRouter` over the in-memory provider of oauth-provider.ts
 *   (RFC 8414 metadata, RFC 7591 registration, authorize that redirects at once, PKCE S256, RFC 8707
 *   `resource`, short-lived access tokens, single-use rotating refresh tokens, RFC 7009 revocation);
 * - the resource is the MCP server of oauth-resource.ts at `/mcp` behind `requireBearerAuth`
 *   (401 with `resource_metadata=…/.well-known/oauth-protected-resource/mcp`, RFC 9728 metadata
 *   there), with the step-up tool `admin-only`.
 *
 * Both listen on 127.0.0.1, port 0; on two origins by default, so a test can tell what reached
 * the authorization server's. Every request each listener received is recorded with its headers,
 * and every value issued is kept, so tests can search mcpd's folders for them.
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { createOAuthMetadata, getOAuthProtectedResourceMetadataUrl, mcpAuthRouter } from '@modelcontextprotocol/sdk/server/auth/router.js';
import { metadataHandler } from '@modelcontextprotocol/sdk/server/auth/handlers/metadata.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import type { OAuthServerProvider } from '@modelcontextprotocol/sdk/server/auth/provider.js';
import type { OAuthClientInformationFull } from '@modelcontextprotocol/sdk/shared/auth.js';
import { AuthState, type AuthSettings } from './oauth-provider.js';
import { ADMIN_SCOPE, type AuthedRequest, McpResource } from './oauth-resource.js';

export type { AuthSettings, AuthorizationRecord, TokenRecord, Violation } from './oauth-provider.js';

// Express comes with the SDK, without type declarations: only what is used here is typed.
type Middleware = (req: AuthedRequest, res: ServerResponse, next: () => void) => unknown;
interface App {
  (req: IncomingMessage, res: ServerResponse): void;
  use(...handlers: unknown[]): void;
  get(path: string, ...handlers: unknown[]): void;
  all(path: string, ...handlers: unknown[]): void;
}
const express = createRequire(import.meta.url)('express') as { (): App; json(): Middleware };

export interface OAuthDoubleOptions {
  /** Access-token lifetime in seconds (sent as `expires_in`). Default 2. */
  accessTokenSeconds?: number;
  /** Issue refresh tokens. Default true. */
  refreshTokens?: boolean;
  /** 'open' (default), 'refuse' (400 invalid_client_metadata), or 'none' (no registration_endpoint). */
  registration?: 'open' | 'refuse' | 'none';
  /** Advertise `code_challenge_methods_supported: ['S256']`. Default true; false omits the field. */
  pkce?: boolean;
  /** `scopes_supported` of both metadata documents; other scopes are refused. Default ['read', 'admin']. */
  scopesSupported?: string[];
  /** Scopes granted when an authorization asks for none. Default ['read']. */
  defaultScopes?: string[];
  /** Scope every MCP request needs, named in the 401 challenge's `scope`. Default 'read'. */
  requiredScope?: string;
  /** Redirect with error=access_denied instead of a code. Default false. */
  deny?: boolean;
  /** Every refresh_token grant answers invalid_grant. Default false. */
  refuseRefresh?: boolean;
  /** Offer RFC 7009 revocation. Default true. */
  revocation?: boolean;
  /** Serve both on one origin. Default false (two origins). */
  sameOrigin?: boolean;
  /** Pre-registered clients (a configured clientId/clientSecret); redirect_uris default to http://127.0.0.1/callback, any port. */
  clients?: Array<{ client_id: string; client_secret?: string; redirect_uris?: string[] }>;
}

export interface RecordedRequest {
  /** The origin of the listener that received it: `asOrigin` or `resourceOrigin`. */
  readonly origin: string;
  readonly method: string;
  /** Path with query. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly at: number;
  /** The status answered, once the answer is sent (undefined while a stream is open). */
  status: number | undefined;
}

async function listen(app: App): Promise<{ server: Server; origin: string }> {
  const server = createServer(app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function recorder(origin: string, requests: RecordedRequest[]): Middleware {
  return (req, res, next) => {
    const record: RecordedRequest = { origin, method: req.method ?? '', path: req.url ?? '', headers: { ...req.headers }, at: Date.now(), status: undefined };
    requests.push(record);
    res.once('finish', () => (record.status = res.statusCode));
    next();
  };
}

function json(body: unknown): Middleware {
  return (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

const noRateLimit = { rateLimit: false as const };

/** A running double; see startOAuthDouble. */
export class OAuthDouble {
  /** Every request either listener received, in order. */
  readonly requests: RecordedRequest[] = [];
  readonly #auth: AuthState;
  readonly #resource: McpResource;
  readonly #servers: Server[];

  constructor(
    /** The authorization server's origin (its issuer is this plus '/'). */
    readonly asOrigin: string,
    /** The MCP server's origin; equal to asOrigin with `sameOrigin`. */
    readonly resourceOrigin: string,
    auth: AuthState, resource: McpResource, servers: Server[],
  ) {
    this.#auth = auth;
    this.#resource = resource;
    this.#servers = servers;
  }

  /** The MCP endpoint: `${resourceOrigin}/mcp`, also the RFC 8707 resource. */
  get mcpUrl(): string { return `${this.resourceOrigin}/mcp`; }
  /** Where the RFC 9728 metadata is, as the 401 challenge names it. */
  get resourceMetadataUrl(): string { return getOAuthProtectedResourceMetadataUrl(new URL(this.mcpUrl)); }
  /** What tests may change while it runs (token lifetime, deny, refuseRefresh, registration…). */
  get settings(): AuthSettings { return this.#auth.settings; }
  /** Every client registered through RFC 7591, with its secret. */
  get registrations() { return this.#auth.registrations; }
  /** Every authorization request, with its scopes, resource and outcome. */
  get authorizations() { return this.#auth.authorizations; }
  /** Every token-endpoint grant the provider saw, with its outcome ('issued', 'invalid_grant', 'reused', 'invalid_scope'). */
  get tokenRequests() { return this.#auth.tokenRequests; }
  /** Protocol violations by the client: a refresh token or a code sent twice. */
  get violations() { return this.#auth.violations; }
  /** Every RFC 7009 revocation request: the client, the token sent, and what it was. */
  get revocations() { return this.#auth.revocations; }
  /** Every value handed out, by kind. */
  get issued() { return this.#auth.issued; }

  /** Every secret value the double handed out: access and refresh tokens, codes, client secrets. */
  secrets(): string[] {
    const { access, refresh, codes, clientSecrets } = this.#auth.issued;
    return [...access, ...refresh, ...codes, ...clientSecrets];
  }

  /** Tallies for quick assertions. */
  counts() {
    const requests = this.#auth.tokenRequests;
    const refreshes = requests.filter((r) => r.grant === 'refresh_token');
    return {
      registrations: this.#auth.registrations.length,
      authorizations: this.#auth.authorizations.length,
      denials: this.#auth.authorizations.filter((a) => a.outcome === 'denied').length,
      codeGrants: requests.filter((r) => r.grant === 'authorization_code' && r.outcome === 'issued').length,
      refreshes: refreshes.filter((r) => r.outcome === 'issued').length,
      refreshRefused: refreshes.filter((r) => r.outcome !== 'issued').length,
      refreshReuse: this.#auth.violations.filter((v) => v.kind === 'refresh-reuse').length,
      revocations: this.#auth.revocations.length,
      stepUps: this.#resource.stepUps,
      sessions: this.#resource.sessionsOpened,
    };
  }

  /** Requests received on `origin` (asOrigin or resourceOrigin). */
  requestsTo(origin: string): RecordedRequest[] {
    return this.requests.filter((r) => r.origin === origin);
  }

  /** Every refresh token issued so far answers invalid_grant from now on; new ones work. */
  invalidateRefreshTokens(): void { this.#auth.invalidateRefreshTokens(); }

  /** Every access token issued so far is expired from now on. */
  expireAccessTokens(): void { this.#auth.expireAccessTokens(); }

  /** Closes sessions and listeners. */
  async close(): Promise<void> {
    await this.#resource.close();
    await Promise.all(this.#servers.map((server) => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    }));
  }
}

function mountAuthorizationServer(app: App, provider: OAuthServerProvider, issuer: URL, mcpUrl: string, options: OAuthDoubleOptions, scopesSupported: string[]): void {
  if (options.pkce === false) {
    const metadata: Record<string, unknown> = { ...createOAuthMetadata({ provider, issuerUrl: issuer, scopesSupported }) };
    delete metadata.code_challenge_methods_supported;
    // Mounted before the router, so it answers first.
    app.get('/.well-known/oauth-authorization-server', json(metadata));
  }
  app.use(mcpAuthRouter({
    provider, issuerUrl: issuer, scopesSupported, resourceServerUrl: new URL(mcpUrl), resourceName: 'mcpd OAuth double',
    authorizationOptions: noRateLimit, tokenOptions: noRateLimit, clientRegistrationOptions: noRateLimit, revocationOptions: noRateLimit,
  }));
}

/** Starts the double: an authorization server and the MCP server it protects, on loopback ports. */
export async function startOAuthDouble(options: OAuthDoubleOptions = {}): Promise<OAuthDouble> {
  const scopesSupported = options.scopesSupported ?? ['read', ADMIN_SCOPE];
  const settings: AuthSettings = {
    accessTokenSeconds: options.accessTokenSeconds ?? 2,
    issueRefreshTokens: options.refreshTokens ?? true,
    registration: options.registration === 'refuse' ? 'refuse' : 'open',
    deny: options.deny ?? false,
    refuseRefresh: options.refuseRefresh ?? false,
    defaultScopes: options.defaultScopes ?? ['read'],
  };
  const clients: OAuthClientInformationFull[] = (options.clients ?? []).map((client) => ({
    redirect_uris: ['http://127.0.0.1/callback'], token_endpoint_auth_method: client.client_secret ? 'client_secret_post' : 'none', ...client,
  }));
  const auth = new AuthState(settings, scopesSupported, clients);
  const provider = auth.provider(options.registration !== 'none', options.revocation !== false);

  const asApp = express();
  const resourceApp = options.sameOrigin ? asApp : express();
  const as = await listen(asApp);
  const resource = options.sameOrigin ? as : await listen(resourceApp);
  const mcpUrl = `${resource.origin}/mcp`;
  const prmUrl = getOAuthProtectedResourceMetadataUrl(new URL(mcpUrl));
  const mcp = new McpResource(prmUrl);
  const double = new OAuthDouble(as.origin, resource.origin, auth, mcp, options.sameOrigin ? [as.server] : [as.server, resource.server]);

  asApp.use(recorder(as.origin, double.requests));
  if (!options.sameOrigin) resourceApp.use(recorder(resource.origin, double.requests));
  const issuer = new URL(`${as.origin}/`);
  mountAuthorizationServer(asApp, provider, issuer, mcpUrl, options, scopesSupported);
  if (!options.sameOrigin) {
    // Only the resource's own metadata here: nothing of the authorization server on this origin.
    resourceApp.use(new URL(prmUrl).pathname, metadataHandler({
      resource: mcpUrl, authorization_servers: [issuer.href], scopes_supported: scopesSupported, resource_name: 'mcpd OAuth double',
    }));
  }
  const bearer = requireBearerAuth({
    verifier: provider, requiredScopes: [options.requiredScope ?? 'read'], resourceMetadataUrl: prmUrl, expectedResource: new URL(mcpUrl),
  });
  resourceApp.all('/mcp', express.json(), bearer, mcp.stepUp, mcp.handle);
  return double;
}
