/**
 * A url server's sign-in, one per server for all its sessions: the TokenSource its requests
 * take their Authorization from, refreshing before expiry, and what a 401 or a 403
 * `insufficient_scope` from the server sets going. Every renewal is one flight at a time (six
 * sessions opening at once get one registration and one browser window; a rotating refresh
 * token is sent once), and is the SDK's `auth()` (discovery, registration, PKCE, RFC 8707
 * resource, scope choice, token requests) over mcpd's store (client-provider.ts):
 *
 *   idle ──401, expiring, login, step-up──▶ renewing ──refreshed, or code exchanged──▶ idle
 *                                              │ auth() wants the user
 *                                              ▼
 *                       waiting for the user (the callback listens; an opener shows the URL)
 *                                              │ code, denial, timeout
 *                                              ▼
 *                                      idle (tokens, or the error for every waiting request)
 */
import type { OAuthSettings } from '../../config/schema.js';
import type { Clock } from '../../../core/clock.js';
import ms from 'ms';
import { McpdError } from '../../../core/errors.js';
import type { FetchLike } from '../origin-fetch.js';
import type { TokenSource } from '../token-source.js';
import type { AuthRecord, AuthRecords } from './auth-record.js';
import { Callback } from './callback.js';
import { Openers, type Opener } from './openers.js';
import { StoredClientProvider } from './client-provider.js';
import { explainAuthError, tokenNeeded } from './auth-errors.js';
import type { AuthStatus } from './auth-status.js';
import { revokeTokens } from './revoke.js';
import { configuredClient, privateKeyJwt, requirePkce } from './client-settings.js';

type Sdk = typeof import('../sdk-transports.js');

export type { AuthNotice, Opener } from './openers.js';

export interface ServerAuthDeps {
  readonly name: string;
  readonly url: string;
  readonly settings: OAuthSettings | undefined;
  readonly records: AuthRecords;
  readonly clock: Clock;
  /** Requests to the authorization server and metadata endpoints: never the server's headers. */
  readonly fetch: FetchLike;
  /** The ports the callback may take (callbackPorts()). */
  readonly ports: readonly number[];
  /** Resolves the references of `oauth.clientSecret` / `oauth.privateKey`. */
  readonly resolve: (values: Record<string, string>) => Promise<Record<string, string>>;
  readonly log: (event: string, fields: Record<string, unknown>) => void;
  readonly sdk: () => Promise<Sdk>;
}

type Renewal =
  | { readonly kind: 'expiring' }
  | { readonly kind: 'unauthorized'; readonly scope?: string; readonly resourceMetadataUrl?: URL }
  | { readonly kind: 'step-up'; readonly scope: string; readonly resourceMetadataUrl?: URL }
  | { readonly kind: 'login' };

/** Refresh this long before expiry, or at three quarters of a short lifetime. */
const REFRESH_AHEAD_MS = 60_000;

export class ServerAuth implements TokenSource {
  readonly #deps: ServerAuthDeps;
  #record: AuthRecord | undefined;
  #loading: Promise<AuthRecord> | undefined;
  #flight: Promise<void> | undefined;
  /** The sign-in waiting for the user (its callback); the openers know its URL. */
  #waiting: { callback: Callback } | undefined;
  readonly #openers = new Openers();
  /** Why the stored credentials were dropped, told with the next sign-in. */
  #dropped: string | undefined;

  constructor(deps: ServerAuthDeps) {
    this.#deps = deps;
  }

  get name(): string {
    return this.#deps.name;
  }

  /** Registers who can show the user a sign-in URL; returns the way to take it back. */
  attach(opener: Opener): () => void {
    return this.#openers.attach(opener);
  }

  async headers(): Promise<Readonly<Record<string, string>>> {
    let record = await this.#load();
    if (record.bearer) return { Authorization: `Bearer ${record.bearer}` };
    if (record.tokens?.refresh_token && this.#due(record)) {
      await this.#renew({ kind: 'expiring' });
      record = await this.#load();
    }
    return record.tokens ? { Authorization: `Bearer ${record.tokens.access_token}` } : {};
  }

  /**
   * The server refused a request (`sent` is the Authorization it carried): true when a renewal
   * means it is worth sending again. origin-fetch.ts asks once per request, so a server that
   * keeps refusing gets one sign-in or step-up per request, not a loop.
   */
  async refused(response: Response, sent: string | undefined): Promise<boolean> {
    const sdk = await this.#deps.sdk();
    const { scope, resourceMetadataUrl, error } = sdk.extractWWWAuthenticateParams(response);
    const record = await this.#load();
    const current = record.bearer ?? record.tokens?.access_token;
    // Renewed meanwhile (another session's flight): the new token has not been refused yet.
    if (current !== undefined && sent !== `Bearer ${current}`) return true;
    if (response.status === 401) {
      if (record.bearer) {
        throw new McpdError('REMOTE_UNAUTHORIZED', `server "${this.#deps.name}": ${this.#deps.url} refused the token stored with mcpd auth login`, {
          hint: `store a new one with: mcpd auth login ${this.#deps.name}`,
        });
      }
      await this.#renew({ kind: 'unauthorized', scope, resourceMetadataUrl });
      return true;
    }
    if (response.status !== 403 || error !== 'insufficient_scope' || !scope) return false;
    const granted = (record.tokens?.scope ?? '').split(' ').filter(Boolean);
    const wanted = scope.split(' ').filter(Boolean);
    if (wanted.every((s) => granted.includes(s))) return false;
    this.#deps.log('auth.step_up', { server: this.#deps.name, scope: wanted.join(' ') });
    await this.#renew({ kind: 'step-up', scope: [...new Set([...granted, ...wanted])].join(' '), resourceMetadataUrl });
    return true;
  }

  /** `mcpd auth login`: a fresh sign-in (or the one under way), shown to `opener`. */
  async login(opener: Opener): Promise<AuthStatus> {
    const detach = this.attach(opener);
    try {
      await this.#renew({ kind: 'login' });
    } finally {
      detach();
    }
    return this.status();
  }

  /** The redirected URL pasted back by the user (a headless machine). */
  complete(url: string): void {
    if (!this.#waiting) {
      throw new McpdError('USAGE', `server "${this.#deps.name}": no sign-in is waiting for the user`, { hint: `start one with: mcpd auth login ${this.#deps.name}` });
    }
    this.#waiting.callback.paste(url);
  }

  /** Keeps a token the user gave for a server without OAuth; it replaces any sign-in. */
  async storeToken(token: string): Promise<void> {
    this.#record = { bearer: token };
    await this.#deps.records.save(this.#record);
    this.#deps.log('auth.token_stored', { server: this.#deps.name });
  }

  /** Revokes what the authorization server lets us revoke (RFC 7009), then forgets the record. */
  async logout(): Promise<{ revoked: boolean; forgot: boolean }> {
    const record = await this.#load().catch(() => ({}) as AuthRecord);
    const revoked = await revokeTokens(record, this.#deps.fetch, await configuredClient(this.#deps.settings, this.#deps.resolve)).catch((error: unknown) => {
      this.#deps.log('auth.revoke_failed', { server: this.#deps.name, error: error instanceof Error ? error.message : String(error) });
      return false;
    });
    this.#record = {};
    const forgot = await this.#deps.records.forget();
    this.#deps.log('auth.logout', { server: this.#deps.name, revoked });
    return { revoked, forgot };
  }

  status(): AuthStatus {
    const record = this.#record;
    const base = { server: this.#deps.name, url: this.#deps.url };
    if (this.#waiting || (this.#flight && !record?.tokens)) return { ...base, method: 'oauth', state: 'pending' };
    if (record?.bearer) return { ...base, method: 'token', state: 'signed-in' };
    const tokens = record?.tokens;
    if (!tokens) return { ...base, method: 'oauth', state: 'signed-out' };
    const expires = this.#expiresAt(record);
    const expired = expires !== undefined && expires <= this.#deps.clock.now() && !tokens.refresh_token;
    return {
      ...base,
      method: 'oauth',
      state: expired ? 'expired' : 'signed-in',
      issuer: tokens.issuer ?? record.discovery?.authorizationServerUrl,
      scopes: tokens.scope?.split(' ').filter(Boolean),
      expiresAt: expires === undefined ? undefined : new Date(expires).toISOString(),
      lastRefresh: record.lastRefresh === undefined ? undefined : new Date(record.lastRefresh).toISOString(),
      client: this.#deps.settings?.clientId ? 'configured' : record.client?.client_id.startsWith('https://') ? 'metadata-document' : 'registered',
    };
  }

  /** The Authorization the stored record gives now, renewing nothing (`mcpd doctor` looks, it does not sign in). */
  storedHeaders(): Readonly<Record<string, string>> {
    const record = this.#record;
    const token = record?.bearer ?? record?.tokens?.access_token;
    return token === undefined ? {} : { Authorization: `Bearer ${token}` };
  }

  /** Loads the record once (status() and storedHeaders() read it after). */
  async load(): Promise<void> {
    await this.#load();
  }

  /** Stops a sign-in waiting for the user (the daemon is stopping, the server was removed). */
  abandon(reason: string): void {
    this.#waiting?.callback.abandon(new McpdError('OAUTH_FAILED', `server "${this.#deps.name}": the sign-in was abandoned: ${reason}`));
  }

  async #load(): Promise<AuthRecord> {
    if (this.#record) return this.#record;
    this.#loading ??= this.#deps.records.load().then((record) => (this.#record = record)).finally(() => { this.#loading = undefined; });
    return this.#loading;
  }

  #expiresAt(record: AuthRecord): number | undefined {
    const lifetime = record.tokens?.expires_in;
    return lifetime === undefined || record.obtainedAt === undefined ? undefined : record.obtainedAt + lifetime * 1000;
  }

  #due(record: AuthRecord): boolean {
    const expires = this.#expiresAt(record);
    if (expires === undefined) return false;
    const lifetime = expires - record.obtainedAt!;
    const ahead = Math.min(REFRESH_AHEAD_MS, lifetime / 4);
    return this.#deps.clock.now() >= expires - ahead;
  }

  /** One renewal at a time: a request arriving meanwhile waits for it instead of starting another. */
  #renew(renewal: Renewal): Promise<void> {
    this.#flight ??= this.#attempt(renewal).finally(() => { this.#flight = undefined; });
    return this.#flight;
  }

  async #attempt(renewal: Renewal): Promise<void> {
    const sdk = await this.#deps.sdk();
    const settings = this.#deps.settings;
    const clientCredentials = settings?.grant === 'client_credentials';
    const record = await this.#load();
    const steps = { last: 'discovery' };
    const fetchFn = this.#watchSteps(steps, record);
    if (!record.discovery) {
      const info = await sdk.discoverOAuthServerInfo(this.#deps.url, { resourceMetadataUrl: 'resourceMetadataUrl' in renewal ? renewal.resourceMetadataUrl : undefined, fetchFn })
        .catch((error: unknown) => { throw explainAuthError(error, this.#deps.name, steps.last, this.#deps.url); });
      if (!info.authorizationServerMetadata && !info.resourceMetadata) throw tokenNeeded(this.#deps.name, this.#deps.url);
      record.discovery = { ...info, resourceMetadataUrl: 'resourceMetadataUrl' in renewal ? renewal.resourceMetadataUrl?.href : undefined };
    }
    if (!clientCredentials) requirePkce(record, this.#deps.name);
    const secrets = await configuredClient(this.#deps.settings, this.#deps.resolve);
    let state: string | undefined;
    const callback: Callback | undefined = clientCredentials ? undefined : await Callback.listen(this.#ports(record), () => state, this.#deps.name);
    // A registration names its redirect URI: one made for another port cannot be used from this one.
    if (callback && record.client && !settings?.clientId && !('redirect_uris' in record.client && (record.client.redirect_uris as string[]).includes(callback.redirectUrl))) {
      if (!record.client.client_id.startsWith('https://')) delete record.client;
    }
    const provider: StoredClientProvider = new StoredClientProvider({
      name: this.#deps.name,
      record: () => record,
      persist: () => this.#deps.records.save(record),
      clock: this.#deps.clock,
      configured: secrets,
      scopes: settings?.scopes,
      clientMetadataUrl: settings?.clientMetadataUrl,
      tokenEndpointAuthMethod: settings?.tokenEndpointAuthMethod,
      clientCredentials,
      addClientAuthentication: await privateKeyJwt(sdk, this.#deps.settings, secrets, this.#deps.resolve),
      redirectUrl: (): string | undefined => callback?.redirectUrl,
      newState: (value) => { state = value; },
      redirect: async (url) => this.#waitFor(url, callback!),
      invalidated: (what) => {
        if (what === 'tokens' || what === 'all') this.#dropped = 'the authorization server refused the stored refresh token (invalid_grant)';
        this.#deps.log('auth.invalidated', { server: this.#deps.name, what });
      },
    });
    provider.withholdRefresh = renewal.kind === 'step-up' || renewal.kind === 'login';
    // No challenge to name a scope (a refresh ahead of expiry, a login, a bare 401): ask again for
    // what was granted, where the SDK would take all of scopes_supported and sign in wider than before.
    const scope = ('scope' in renewal ? renewal.scope : undefined) ?? (record.tokens?.scope || undefined);
    const options = { serverUrl: this.#deps.url, scope, fetchFn };
    const refreshing = Boolean(record.tokens?.refresh_token) && !provider.withholdRefresh;
    try {
      let result = await sdk.auth(provider, options);
      if (result === 'REDIRECT') {
        const code = await this.#timed(callback!);
        this.#waiting = undefined;
        result = await sdk.auth(provider, { ...options, authorizationCode: code });
        this.#deps.log('auth.signed_in', { server: this.#deps.name, issuer: record.tokens?.issuer });
      } else if (refreshing) {
        record.lastRefresh = this.#deps.clock.now();
        await this.#deps.records.save(record);
        this.#deps.log('auth.refreshed', { server: this.#deps.name, reason: renewal.kind });
      }
      this.#dropped = undefined;
    } catch (error) {
      throw explainAuthError(error, this.#deps.name, steps.last, this.#deps.url);
    } finally {
      this.#waiting = undefined;
      this.#openers.done();
      provider.withholdRefresh = false;
      await callback?.close();
    }
  }

  /** The callback's code, or OAUTH_TIMEOUT once `oauth.timeout` passes. */
  async #timed(callback: Callback): Promise<string> {
    const limit = this.#deps.settings?.timeout ?? '5m';
    const timer = this.#deps.clock.setTimeout(() => {
      callback.abandon(new McpdError('OAUTH_TIMEOUT', `server "${this.#deps.name}": nobody finished signing in within ${limit}`, {
        hint: `run mcpd auth login ${this.#deps.name} to try again (the browser page may have been closed); oauth.timeout sets how long mcpd waits`,
      }));
    }, ms(limit as ms.StringValue));
    try {
      return await callback.code;
    } finally {
      this.#deps.clock.clearTimeout(timer);
    }
  }

  /** auth() wants the user at `url`: the sign-in waits, shown to the best opener there is. */
  async #waitFor(url: URL, callback: Callback): Promise<void> {
    this.#waiting = { callback };
    this.#deps.log('auth.waiting', { server: this.#deps.name, port: callback.port });
    this.#openers.show({ type: 'authorize', server: this.#deps.name, url: url.href, ...(this.#dropped ? { reason: this.#dropped } : {}) });
  }

  /** The registered port first, so a stored registration stays usable. */
  #ports(record: AuthRecord): number[] {
    const registered = record.client && 'redirect_uris' in record.client ? (record.client.redirect_uris as string[]) : [];
    const port = registered.map((uri) => Number(new URL(uri).port)).find((p) => this.#deps.ports.includes(p));
    return port === undefined ? [...this.#deps.ports] : [port, ...this.#deps.ports.filter((p) => p !== port)];
  }

  /** Records which authorization-server step a request is, so a failure names it. */
  #watchSteps(steps: { last: string }, record: AuthRecord): FetchLike {
    return (url, init) => {
      const href = String(url);
      const meta = record.discovery?.authorizationServerMetadata;
      steps.last = href === meta?.registration_endpoint ? 'registration' : href === meta?.token_endpoint ? 'token request' : steps.last === 'discovery' ? 'discovery' : steps.last;
      return this.#deps.fetch(url, init);
    };
  }
}
