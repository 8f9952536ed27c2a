/**
 * The OAuth double checked against the SDK's own client pieces (auth(), refreshAuthorization,
 * the Streamable HTTP client), so the OAuth e2e tests stand on a server that behaves: a full
 * flow, expiry, single-use refresh tokens, step-up, revocation, and the metadata options.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  auth, discoverAuthorizationServerMetadata, UnauthorizedError, exchangeAuthorization, extractWWWAuthenticateParams, refreshAuthorization,
  registerClient, startAuthorization, type OAuthClientProvider,
} from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { type OAuthDouble, type OAuthDoubleOptions, startOAuthDouble } from './oauth-server.js';

const REDIRECT = 'http://127.0.0.1:8085/callback';

/** An OAuthClientProvider in memory whose "browser" fetches the authorization URL and keeps the redirect. */
class MemoryClient implements OAuthClientProvider {
  info: OAuthClientInformationMixed | undefined;
  saved: OAuthTokens | undefined;
  verifier = '';
  /** Where the authorization server redirected the "browser". */
  landed: URL | undefined;
  readonly redirectUrl = REDIRECT;
  readonly clientMetadata: OAuthClientMetadata = {
    redirect_uris: [REDIRECT], client_name: 'oauth double self-check', grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'], token_endpoint_auth_method: 'client_secret_post',
  };
  state() { return 'state-123'; }
  clientInformation() { return this.info; }
  saveClientInformation(info: OAuthClientInformationMixed) { this.info = info; }
  tokens() { return this.saved; }
  saveTokens(tokens: OAuthTokens) { this.saved = tokens; }
  saveCodeVerifier(verifier: string) { this.verifier = verifier; }
  codeVerifier() { return this.verifier; }
  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery') {
    if (scope === 'all' || scope === 'client') this.info = undefined;
    if (scope === 'all' || scope === 'tokens') this.saved = undefined;
  }
  async redirectToAuthorization(url: URL) {
    const answer = await fetch(url, { redirect: 'manual' });
    assert.equal(answer.status, 302, 'authorize redirects at once');
    this.landed = new URL(answer.headers.get('location')!);
  }
}

/** The 401 challenge of the MCP endpoint for a request without (or with) a token. */
async function challenge(double: OAuthDouble, token?: string) {
  const answer = await fetch(double.mcpUrl, {
    method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
  });
  return { status: answer.status, header: answer.headers.get('www-authenticate') ?? '', params: extractWWWAuthenticateParams(answer) };
}

/** A full authorization as a client does it: the challenge, auth() to the redirect, auth() with the code. */
async function signIn(double: OAuthDouble, scope?: string, client = new MemoryClient()): Promise<MemoryClient> {
  const { params } = await challenge(double);
  assert.equal(await auth(client, { serverUrl: double.mcpUrl, resourceMetadataUrl: params.resourceMetadataUrl, scope: scope ?? params.scope }), 'REDIRECT');
  const code = client.landed!.searchParams.get('code');
  assert.ok(code, `a code in ${client.landed!.href}`);
  assert.equal(client.landed!.searchParams.get('state'), 'state-123');
  assert.equal(await auth(client, { serverUrl: double.mcpUrl, authorizationCode: code }), 'AUTHORIZED');
  return client;
}

/** An MCP client session carrying `token` as a static header. */
async function connect(double: OAuthDouble, token: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(double.mcpUrl), { requestInit: { headers: { authorization: `Bearer ${token}` } } });
  const client = new Client({ name: 'self-check', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

async function whoami(client: Client): Promise<{ clientId: string; scopes: string[]; serial: number }> {
  const result = await client.callTool({ name: 'whoami', arguments: {} });
  const [first] = result.content as Array<{ text: string }>;
  return JSON.parse(first!.text) as { clientId: string; scopes: string[]; serial: number };
}

describe('OAuth double', () => {
  let double: OAuthDouble;
  const clients: Client[] = [];
  const start = async (options: OAuthDoubleOptions = {}) => (double = await startOAuthDouble(options));
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await double.close();
  });

  it('answers 401 naming its metadata, and a full flow gives a token the resource accepts', async () => {
    await start();
    assert.notEqual(double.asOrigin, double.resourceOrigin);
    const first = await challenge(double);
    assert.equal(first.status, 401);
    assert.match(first.header, /^Bearer /);
    assert.equal(first.params.resourceMetadataUrl?.href, `${double.resourceOrigin}/.well-known/oauth-protected-resource/mcp`);
    assert.equal(first.params.scope, 'read');

    const signedIn = await signIn(double);
    const token = signedIn.saved!.access_token;
    assert.ok(signedIn.saved!.refresh_token);
    const { client } = await connect(double, token);
    clients.push(client);
    const me = await whoami(client);
    assert.deepEqual(me, { clientId: signedIn.info!.client_id, scopes: ['read'], serial: 1 });

    assert.deepEqual(double.counts(), {
      registrations: 1, authorizations: 1, denials: 0, codeGrants: 1, refreshes: 0, refreshRefused: 0, refreshReuse: 0, revocations: 0, stepUps: 0, sessions: 1,
    });
    assert.equal(double.authorizations[0]!.resource, double.mcpUrl, 'RFC 8707 resource recorded');
    assert.ok(double.secrets().includes(token) && double.secrets().includes(signedIn.saved!.refresh_token!));
    assert.ok(double.issued.clientSecrets.includes(String(signedIn.info!.client_secret)));
    // The resource's origin serves its own metadata only; the authorization server's lives on its origin.
    assert.equal((await fetch(`${double.resourceOrigin}/.well-known/oauth-authorization-server`)).status, 404);
    assert.ok(double.requestsTo(double.asOrigin).some((r) => r.path === '/token'));
    assert.ok(!double.requestsTo(double.resourceOrigin).some((r) => r.path === '/token'));
    assert.ok(double.requestsTo(double.resourceOrigin).some((r) => r.headers.authorization === `Bearer ${token}`));
  });

  it('serves the SDK\'s own transport with an auth provider: sign-in, then a refresh on each expiry in one session', async () => {
    // Lifetimes of a second: long enough for a loaded machine to use a fresh token, short for a test.
    await start({ accessTokenSeconds: 1 });
    const provider = new MemoryClient();
    const first = new Client({ name: 'self-check', version: '1.0.0' });
    await assert.rejects(first.connect(new StreamableHTTPClientTransport(new URL(double.mcpUrl), { authProvider: provider })), UnauthorizedError);
    const pending = new StreamableHTTPClientTransport(new URL(double.mcpUrl), { authProvider: provider });
    await pending.finishAuth(provider.landed!.searchParams.get('code')!);
    const client = new Client({ name: 'self-check', version: '1.0.0' });
    clients.push(client);
    await client.connect(new StreamableHTTPClientTransport(new URL(double.mcpUrl), { authProvider: provider }));
    assert.equal((await whoami(client)).serial, 1);
    for (const serial of [2, 3]) {
      await new Promise((resolve) => setTimeout(resolve, 1100));
      assert.equal((await whoami(client)).serial, serial, 'the expired token was refreshed, and the call retried');
    }
    assert.equal(double.counts().sessions, 1);
    assert.equal(double.counts().refreshes, 2);
    assert.equal(double.counts().refreshReuse, 0);
  });

  it('refuses a token once it has expired', async () => {
    await start({ accessTokenSeconds: 1 });
    const token = (await signIn(double)).saved!.access_token;
    assert.notEqual((await challenge(double, token)).status, 401, 'valid at first');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const late = await challenge(double, token);
    assert.equal(late.status, 401);
    assert.equal(late.params.error, 'invalid_token');

    double.settings.accessTokenSeconds = 60;
    const fresh = (await signIn(double)).saved!.access_token;
    assert.notEqual((await challenge(double, fresh)).status, 401);
    double.expireAccessTokens();
    assert.equal((await challenge(double, fresh)).status, 401, 'expired on demand');
  });

  it('serves a pre-registered client, on any loopback port, without a registration endpoint', async () => {
    await start({ registration: 'none', clients: [{ client_id: 'mcpd', client_secret: 'configured-secret' }] });
    const metadata = await discoverAuthorizationServerMetadata(double.asOrigin);
    assert.equal(metadata!.registration_endpoint, undefined);
    const client = new MemoryClient();
    client.info = { client_id: 'mcpd', client_secret: 'configured-secret' };
    const signedIn = await signIn(double, undefined, client);
    assert.equal(double.counts().registrations, 0);
    assert.equal(double.tokenRequests[0]!.clientId, 'mcpd');
    assert.ok(signedIn.saved!.access_token);
  });

  it('takes a refresh token once: a reuse is invalid_grant, counted, and ends the grant', async () => {
    await start();
    const signedIn = await signIn(double);
    const first = signedIn.saved!;
    assert.equal(await auth(signedIn, { serverUrl: double.mcpUrl }), 'AUTHORIZED', 'auth() refreshes with the stored refresh token');
    const second = signedIn.saved!;
    assert.notEqual(second.refresh_token, first.refresh_token, 'the refresh token rotates');
    const { client } = await connect(double, second.access_token);
    clients.push(client);
    assert.equal((await whoami(client)).serial, 2);

    const metadata = await discoverAuthorizationServerMetadata(double.asOrigin);
    const again = refreshAuthorization(double.asOrigin, { metadata, clientInformation: signedIn.info!, refreshToken: first.refresh_token!, resource: double.mcpUrl });
    await assert.rejects(again, (error: Error) => error.constructor.name === 'InvalidGrantError' && /already used/.test(error.message));
    assert.equal(double.counts().refreshReuse, 1);
    assert.equal(double.violations[0]!.kind, 'refresh-reuse');
    assert.equal((await challenge(double, second.access_token)).status, 401, 'a reuse ends the grant');
    await assert.rejects(refreshAuthorization(double.asOrigin, { metadata, clientInformation: signedIn.info!, refreshToken: second.refresh_token! }), /no longer valid/);
  });

  it('lets one of two concurrent refreshes with the same token through, and counts the other', async () => {
    await start();
    const signedIn = await signIn(double);
    const metadata = await discoverAuthorizationServerMetadata(double.asOrigin);
    const refresh = () => refreshAuthorization(double.asOrigin, { metadata, clientInformation: signedIn.info!, refreshToken: signedIn.saved!.refresh_token! });
    const outcomes = await Promise.allSettled([refresh(), refresh()]);
    assert.deepEqual(outcomes.map((o) => o.status).sort(), ['fulfilled', 'rejected']);
    assert.equal(double.counts().refreshReuse, 1);
    assert.deepEqual(double.requestsTo(double.asOrigin).filter((r) => r.path === '/token').map((r) => r.status).sort(), [200, 200, 400]);
  });

  it('answers admin-only with 403 insufficient_scope to a token without admin, before the transport', async () => {
    await start();
    const signedIn = await signIn(double);
    const { client, transport } = await connect(double, signedIn.saved!.access_token);
    clients.push(client);
    const answer = await fetch(double.mcpUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${signedIn.saved!.access_token}`,
        'mcp-session-id': transport.sessionId!, 'mcp-protocol-version': transport.protocolVersion!,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'admin-only', arguments: {} } }),
    });
    assert.equal(answer.status, 403);
    const header = answer.headers.get('www-authenticate')!;
    assert.match(header, /^Bearer error="insufficient_scope", scope="read admin", resource_metadata="[^"]+\/\.well-known\/oauth-protected-resource\/mcp"/);
    assert.equal(double.counts().stepUps, 1);

    // A refresh cannot widen the grant; a new authorization can.
    const widened = await fetch(`${double.asOrigin}/token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: signedIn.saved!.refresh_token!, scope: 'read admin', client_id: signedIn.info!.client_id, client_secret: String(signedIn.info!.client_secret) }),
    });
    assert.equal(widened.status, 400);
    assert.equal(((await widened.json()) as { error: string }).error, 'invalid_scope');
    // Step-up is a new authorization: with the refresh token still held, auth() would only refresh
    // to the same scopes (typescript-sdk #2255), so the client drops its tokens first.
    signedIn.invalidateCredentials('tokens');
    const stepped = await signIn(double, 'read admin', signedIn);
    const admin = await connect(double, stepped.saved!.access_token);
    clients.push(admin.client);
    const result = await admin.client.callTool({ name: 'admin-only', arguments: {} });
    assert.match((result.content as Array<{ text: string }>)[0]!.text, /"admin":true/);
  });

  it('verifies PKCE: a code with the wrong verifier is invalid_grant', async () => {
    await start();
    const metadata = await discoverAuthorizationServerMetadata(double.asOrigin);
    const client = new MemoryClient();
    const info = await registerClient(double.asOrigin, { metadata, clientMetadata: client.clientMetadata });
    const { authorizationUrl } = await startAuthorization(double.asOrigin, { metadata, clientInformation: info, redirectUrl: REDIRECT, resource: double.mcpUrl });
    await client.redirectToAuthorization(authorizationUrl);
    const exchange = exchangeAuthorization(double.asOrigin, {
      metadata, clientInformation: info, authorizationCode: client.landed!.searchParams.get('code')!, codeVerifier: 'x'.repeat(43), redirectUri: REDIRECT, resource: double.mcpUrl,
    });
    await assert.rejects(exchange, /code_verifier does not match/);
  });

  it('advertises S256 by default, and not with pkce: false', async () => {
    await start();
    assert.deepEqual((await discoverAuthorizationServerMetadata(double.asOrigin))!.code_challenge_methods_supported, ['S256']);
    await double.close();
    await start({ pkce: false });
    const metadata = await discoverAuthorizationServerMetadata(double.asOrigin);
    assert.ok(metadata!.token_endpoint, 'the rest of the metadata is there');
    assert.equal('code_challenge_methods_supported' in metadata!, false);
  });

  it('denies, refuses registration, revokes and invalidates refresh tokens on demand', async () => {
    await start({ deny: true, sameOrigin: true });
    assert.equal(double.asOrigin, double.resourceOrigin);
    const denied = new MemoryClient();
    const { params } = await challenge(double);
    assert.equal(await auth(denied, { serverUrl: double.mcpUrl, resourceMetadataUrl: params.resourceMetadataUrl }), 'REDIRECT');
    assert.equal(denied.landed!.searchParams.get('error'), 'access_denied');
    assert.equal(denied.landed!.searchParams.get('state'), 'state-123');
    assert.equal(double.counts().denials, 1);

    double.settings.deny = false;
    const signedIn = await signIn(double);
    double.invalidateRefreshTokens();
    const metadata = await discoverAuthorizationServerMetadata(double.asOrigin);
    await assert.rejects(refreshAuthorization(double.asOrigin, { metadata, clientInformation: signedIn.info!, refreshToken: signedIn.saved!.refresh_token! }), /no longer valid/);
    assert.equal(double.counts().refreshRefused, 1);
    assert.equal(double.counts().refreshReuse, 0);

    // auth() meets invalid_grant on its stored refresh token, drops the tokens, and authorizes anew.
    const again = await signIn(double, undefined, signedIn);
    assert.equal(double.counts().refreshRefused, 2);
    assert.equal(double.counts().codeGrants, 2);
    const revoked = await fetch(`${double.asOrigin}/revoke`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: again.saved!.refresh_token!, client_id: signedIn.info!.client_id, client_secret: String(signedIn.info!.client_secret) }),
    });
    assert.equal(revoked.status, 200);
    assert.deepEqual(double.revocations.map((r) => r.kind), ['refresh']);
    assert.equal((await challenge(double, again.saved!.access_token)).status, 401, 'revoking the refresh token ends its grant');

    double.settings.registration = 'refuse';
    await assert.rejects(registerClient(double.asOrigin, { metadata, clientMetadata: new MemoryClient().clientMetadata }), /does not accept new registrations/);
  });
});
