/**
 * The SDK's `OAuthClientProvider` for one url server: what the SDK's `auth()` asks of a client
 * (its metadata, its registration, its tokens, where to send the user) answered from the
 * server's AuthRecord and config. It holds no flow logic of its own: ServerAuth decides when
 * `auth()` runs; this is the SDK's window onto mcpd's storage.
 */
import { randomBytes } from 'node:crypto';
import type { AddClientAuthentication, OAuthClientProvider, OAuthDiscoveryState } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { AuthRecord } from './auth-record.js';

/** A client mcpd was given in the config (`oauth.clientId`, its secret resolved). */
export interface ConfiguredClient {
  readonly client_id: string;
  readonly client_secret?: string;
  readonly token_endpoint_auth_method?: string;
}

export interface ClientProviderDeps {
  readonly name: string;
  /** The record as kept in memory; `persist` writes it to the store. */
  readonly record: () => AuthRecord;
  readonly persist: () => Promise<void>;
  readonly clock: { now(): number };
  readonly configured: ConfiguredClient | undefined;
  readonly scopes: readonly string[] | undefined;
  readonly clientMetadataUrl: string | undefined;
  readonly tokenEndpointAuthMethod: string | undefined;
  /** `grant: "client_credentials"`: no user, no browser, no redirect. */
  readonly clientCredentials: boolean;
  /** private_key_jwt client authentication, when configured. */
  readonly addClientAuthentication?: AddClientAuthentication;
  /** The current sign-in's callback URL (undefined outside one, and for client_credentials). */
  readonly redirectUrl: () => string | undefined;
  /** The `state` of the authorization request just made, for the callback to check. */
  readonly newState: (state: string) => void;
  /** Sends the user to `url` (the sign-in's openers). */
  readonly redirect: (url: URL) => Promise<void>;
  /** Tells why stored credentials were dropped (the SDK drops them on invalid_grant or invalid_client). */
  readonly invalidated: (what: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery') => void;
}

export class StoredClientProvider implements OAuthClientProvider {
  readonly #deps: ClientProviderDeps;
  #verifier: string | undefined;
  /** During a step-up the refresh token is withheld: refreshing cannot widen scopes (typescript-sdk #2255). */
  withholdRefresh = false;
  readonly addClientAuthentication: AddClientAuthentication | undefined;

  constructor(deps: ClientProviderDeps) {
    this.#deps = deps;
    this.addClientAuthentication = deps.addClientAuthentication;
  }

  get redirectUrl(): string | undefined {
    return this.#deps.clientCredentials ? undefined : this.#deps.redirectUrl();
  }

  get clientMetadataUrl(): string | undefined {
    return this.#deps.clientMetadataUrl;
  }

  get clientMetadata(): OAuthClientMetadata {
    const redirect = this.redirectUrl;
    return {
      client_name: 'mcpd',
      redirect_uris: redirect ? [redirect] : [],
      grant_types: this.#deps.clientCredentials ? ['client_credentials'] : ['authorization_code', 'refresh_token'],
      response_types: this.#deps.clientCredentials ? [] : ['code'],
      token_endpoint_auth_method: this.#deps.tokenEndpointAuthMethod ?? (this.#deps.configured?.client_secret ? 'client_secret_basic' : 'none'),
      ...(this.#deps.scopes?.length ? { scope: this.#deps.scopes.join(' ') } : {}),
    };
  }

  /** A fresh random `state` for each authorization request, kept to check the callback against. */
  state(): string {
    const state = randomBytes(24).toString('base64url');
    this.#deps.newState(state);
    return state;
  }

  clientInformation(): OAuthClientInformationMixed | undefined {
    return this.#deps.configured ?? this.#deps.record().client;
  }

  async saveClientInformation(information: OAuthClientInformationMixed): Promise<void> {
    // A configured client is the config's; only registrations and metadata documents are kept.
    if (this.#deps.configured) return;
    this.#deps.record().client = information;
    await this.#deps.persist();
  }

  tokens(): OAuthTokens | undefined {
    const tokens = this.#deps.record().tokens;
    if (!tokens || !this.withholdRefresh) return tokens;
    const { refresh_token: _held, ...rest } = tokens;
    return rest;
  }

  async saveTokens(tokens: OAuthTokens): Promise<void> {
    const record = this.#deps.record();
    const now = this.#deps.clock.now();
    // A refresh answered without a new refresh token keeps the old one (RFC 6749 §6); a rotated one replaces it.
    const refresh = tokens.refresh_token ?? record.tokens?.refresh_token;
    record.tokens = { ...tokens, ...(refresh ? { refresh_token: refresh } : {}) };
    record.obtainedAt = now;
    await this.#deps.persist();
  }

  async redirectToAuthorization(url: URL): Promise<void> {
    await this.#deps.redirect(url);
  }

  saveCodeVerifier(verifier: string): void {
    // Memory only: it lives as long as the sign-in it belongs to.
    this.#verifier = verifier;
  }

  codeVerifier(): string {
    if (this.#verifier === undefined) throw new Error(`server "${this.#deps.name}": no sign-in is under way (no PKCE verifier)`);
    return this.#verifier;
  }

  prepareTokenRequest(scope?: string): URLSearchParams | undefined {
    if (!this.#deps.clientCredentials) return undefined;
    const params = new URLSearchParams({ grant_type: 'client_credentials' });
    if (scope) params.set('scope', scope);
    return params;
  }

  async invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): Promise<void> {
    const record = this.#deps.record();
    if (scope === 'all' || scope === 'client') delete record.client;
    if (scope === 'all' || scope === 'tokens') {
      delete record.tokens;
      delete record.obtainedAt;
    }
    if (scope === 'all' || scope === 'discovery') delete record.discovery;
    if (scope === 'all' || scope === 'verifier') this.#verifier = undefined;
    this.#deps.invalidated(scope);
    await this.#deps.persist();
  }

  discoveryState(): OAuthDiscoveryState | undefined {
    return this.#deps.record().discovery;
  }

  async saveDiscoveryState(state: OAuthDiscoveryState): Promise<void> {
    this.#deps.record().discovery = state;
    await this.#deps.persist();
  }
}
