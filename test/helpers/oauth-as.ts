/** What the tests of mcpd's own authorization server share: an SDK OAuth client kept in memory, the consent page's steps, the CLI's answers. */
import assert from 'node:assert/strict';
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { PendingConsent, TokenInfo } from '../../daemon/protocol.js';
import type { Sandbox } from './sandbox.js';

/** A host app's OAuth state, in memory; its redirect URI is never fetched: the test reads the code from the redirect. */
export class TestOAuthClient implements OAuthClientProvider {
  authorizationUrl: URL | undefined;
  #client: OAuthClientInformationMixed | undefined;
  #tokens: OAuthTokens | undefined;
  #verifier = '';
  readonly #state = `state-${Math.random().toString(36).slice(2)}`;

  constructor(readonly name: string, readonly redirectUrl = 'http://127.0.0.1:9/callback') {}

  get clientMetadata(): OAuthClientMetadata {
    return { client_name: this.name, redirect_uris: [this.redirectUrl], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none', scope: 'mcp:tools' };
  }

  get codeVerifierValue(): string {
    return this.#verifier;
  }

  state(): string {
    return this.#state;
  }

  clientInformation(): OAuthClientInformationMixed | undefined {
    return this.#client;
  }

  saveClientInformation(info: OAuthClientInformationMixed): void {
    this.#client = info;
  }

  tokens(): OAuthTokens | undefined {
    return this.#tokens;
  }

  saveTokens(tokens: OAuthTokens): void {
    this.#tokens = tokens;
  }

  redirectToAuthorization(url: URL): void {
    this.authorizationUrl = url;
  }

  saveCodeVerifier(verifier: string): void {
    this.#verifier = verifier;
  }

  codeVerifier(): string {
    return this.#verifier;
  }

  /** The code the consent URL redirects to once approved; the state checked. */
  async codeFrom(consentUrl: string): Promise<string> {
    const answer = await fetch(consentUrl, { redirect: 'manual' });
    assert.equal(answer.status, 302, await answer.text());
    const back = new URL(answer.headers.get('location')!);
    assert.equal(`${back.origin}${back.pathname}`, this.redirectUrl);
    assert.equal(back.searchParams.get('state'), this.#state);
    const code = back.searchParams.get('code');
    assert.ok(code, `no code in ${back.search.replace(/code=[^&]+/, 'code=…')}`);
    return code;
  }
}

/** Follows /authorize to the consent page as a browser would: the page, its URL and the request's id. */
export async function consentOf(authorizationUrl: URL): Promise<{ status: number; page: string; url: string; id: string }> {
  const authorize = await fetch(authorizationUrl, { redirect: 'manual' });
  assert.equal(authorize.status, 302, await authorize.text());
  const url = new URL(authorize.headers.get('location')!, authorizationUrl).href;
  const page = await fetch(url);
  return { status: page.status, page: await page.text(), url, id: new URL(url).searchParams.get('id')! };
}

/** The ids `mcpd auth pending` lists. */
export async function pendingIds(s: Sandbox): Promise<string[]> {
  const listed = await s.cli(['auth', 'pending', '--json']);
  assert.equal(listed.exitCode, 0, listed.stderr);
  return (JSON.parse(listed.stdout) as PendingConsent[]).map((c) => c.id);
}

/** `mcpd auth approve` for every waiting request. */
export async function approveAll(s: Sandbox): Promise<void> {
  const ids = await pendingIds(s);
  assert.ok(ids.length > 0, 'no authorization request is waiting');
  for (const id of ids) {
    const approved = await s.cli(['auth', 'approve', id]);
    assert.equal(approved.exitCode, 0, approved.stderr);
  }
}

/** `mcpd token ls --json`. */
export async function tokenList(s: Sandbox): Promise<TokenInfo[]> {
  const listed = await s.cli(['token', 'ls', '--json']);
  assert.equal(listed.exitCode, 0, listed.stderr);
  return JSON.parse(listed.stdout) as TokenInfo[];
}
