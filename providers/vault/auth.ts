/**
 * The Vault client token: where it comes from, and keeping it alive while the provider is open.
 *
 * - `token`: `auth.token` (may be a reference), else $VAULT_TOKEN, else ~/.vault-token, as the
 *   vault CLI looks. Its TTL is learnt with lookup-self.
 * - `approle`: a login at auth/MOUNT/login with the role and secret ids (references resolved at
 *   each login, so a rotated secret id is picked up).
 *
 * A token with a TTL is renewed (renew-self) at about two thirds of it, with jitter so that many
 * daemons started together do not renew together. When renewal fails an AppRole session logs in
 * afresh; a plain token cannot be replaced, so once it expires every read fails with that reason.
 */
import { readFile } from 'node:fs/promises';
import type { Clock, ClockTimer } from '../../core/clock.js';
import { McpdError } from '../../core/errors.js';
import { expandHome } from '../../core/paths.js';
import type { ProviderContext } from '../registry.js';
import type { VaultConfig } from '../vault.js';
import { detailOf, statusOf, type VaultBody, type VaultHttp } from './client.js';

type TokenAuth = Extract<VaultConfig['auth'], { method: 'token' }>;

export interface SessionOptions {
  readonly name: string;
  readonly auth: VaultConfig['auth'];
  readonly ctx: ProviderContext;
  readonly clock: Clock;
  /** In [0, 1); spreads renewals over the last tenth before the two-thirds mark. */
  readonly random: () => number;
}

export class VaultSession {
  readonly #http: VaultHttp;
  readonly #options: SessionOptions;
  #ready: Promise<void> | undefined;
  #timer: ClockTimer | undefined;
  #expiresAt = Infinity;
  #source = '';
  #renewFailure: string | undefined;
  #closed = false;

  constructor(http: VaultHttp, options: SessionOptions) {
    this.#http = http;
    this.#options = options;
  }

  /** A live token: obtained on first use, again (AppRole) once the last one has expired. */
  async ready(): Promise<void> {
    if (this.#options.clock.now() >= this.#expiresAt) {
      if (this.#options.auth.method === 'token') throw this.#expired();
      this.#ready = undefined;
    }
    this.#ready ??= this.#start().catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) this.#options.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #start(): Promise<void> {
    const { auth, ctx, name } = this.#options;
    if (auth.method === 'approle') {
      this.#source = `the AppRole login at auth/${auth.mount}/login`;
      const roleId = await ctx.resolveSetting(auth.roleId, `providers.${name}.auth.roleId`);
      const secretId = await ctx.resolveSetting(auth.secretId, `providers.${name}.auth.secretId`);
      const body = await this.#http.approleLogin(auth.mount, roleId, secretId).catch((error: unknown) => {
        throw statusOf(error) === 400 || statusOf(error) === 403
          ? new McpdError('PROVIDER_FAILED', `AppRole login at auth/${auth.mount}/login on ${this.#http.where} failed: ${detailOf(error)}`, {
            hint: `check providers.${name}.auth.roleId and secretId (a secret id may have expired or used up its uses)`, cause: (error as Error).cause,
          })
          : error;
      });
      if (!body.auth?.client_token) throw new McpdError('PROVIDER_FAILED', `AppRole login at auth/${auth.mount}/login on ${this.#http.where} returned no token`);
      this.#http.token = body.auth.client_token;
      this.#track(body.auth.lease_duration ?? 0, body.auth.renewable ?? false);
      return;
    }
    const { token, source } = await this.#token(auth);
    this.#source = source;
    this.#http.token = token;
    const body = await this.#http.lookupSelf().catch((error: unknown) => {
      throw statusOf(error) === 403
        ? new McpdError('PROVIDER_FAILED', `${this.#http.where} refused the token from ${source} (permission denied): it is invalid, revoked or expired`, {
          hint: `log in again (vault login), or put a valid token in ${source}`, cause: (error as Error).cause,
        })
        : error;
    });
    const data = (body.data ?? {}) as { ttl?: unknown; renewable?: unknown };
    this.#track(typeof data.ttl === 'number' ? data.ttl : 0, data.renewable === true);
  }

  async #token(auth: TokenAuth): Promise<{ token: string; source: string }> {
    const { ctx, name } = this.#options;
    let found: { token: string; source: string } | undefined;
    if (auth.token) {
      const where = `providers.${name}.auth.token`;
      found = { token: await ctx.resolveSetting(auth.token, where), source: where };
    } else if (ctx.env.VAULT_TOKEN) {
      found = { token: ctx.env.VAULT_TOKEN, source: '$VAULT_TOKEN' };
    } else {
      const file = expandHome('~/.vault-token', ctx.env);
      const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return '';
        throw new McpdError('PROVIDER_FAILED', `cannot read the Vault token file ${file} (${error.code ?? error.message})`, { hint: `check the file's permissions, or log in again (vault login)` });
      });
      found = { token: text.trim(), source: file };
    }
    if (found.token.trim() === '') {
      throw new McpdError('CONFIG_INVALID', `no Vault token for provider "${name}": providers.${name}.auth.token, $VAULT_TOKEN and ~/.vault-token are all unset or empty`, {
        hint: `log in with "vault login" (it writes ~/.vault-token), set $VAULT_TOKEN, or set providers.${name}.auth.token to a reference such as \${keychain:vault/token}`,
      });
    }
    return { token: found.token.trim(), source: found.source };
  }

  /** Records the token's lifetime and schedules its renewal; a TTL of 0 is a token that never expires. */
  #track(ttlSeconds: number, renewable: boolean): void {
    this.#expiresAt = ttlSeconds > 0 ? this.#options.clock.now() + ttlSeconds * 1000 : Infinity;
    if (ttlSeconds <= 0) return;
    const delay = ttlSeconds * 1000 * (2 / 3) * (1 - 0.1 * this.#options.random());
    this.#schedule(delay, renewable || this.#options.auth.method === 'approle');
  }

  #schedule(delayMs: number, active: boolean): void {
    if (this.#timer) this.#options.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#closed || !active) return;
    this.#timer = this.#options.clock.setTimeout(() => void this.#renew(), delayMs);
    // A renewal is no reason to keep a one-shot CLI alive.
    (this.#timer.id as { unref?: () => void } | undefined)?.unref?.();
  }

  async #renew(): Promise<void> {
    this.#timer = undefined;
    const { ctx, clock, auth } = this.#options;
    let body: VaultBody;
    try {
      body = await this.#http.renewSelf();
    } catch (error) {
      if (this.#closed) return;
      const reason = error instanceof McpdError ? error.message : String(error);
      if (auth.method === 'approle') {
        ctx.note(`renewing the Vault token from ${this.#source} failed (${reason}); logging in again`);
        const login = this.#start().catch((failure: unknown) => {
          this.#ready = undefined;
          throw failure;
        });
        this.#ready = login;
        login.catch((failure: unknown) => ctx.note(`logging in to ${this.#http.where} again failed: ${failure instanceof Error ? failure.message : String(failure)}`));
        return;
      }
      this.#renewFailure = reason;
      ctx.note(`renewing the Vault token from ${this.#source} failed: ${reason}`);
      // A passing outage should not doom a token that still has time: try again halfway to its end.
      const left = this.#expiresAt - clock.now();
      if (left > 2000) this.#schedule(left / 2, true);
      return;
    }
    if (this.#closed) return;
    this.#renewFailure = undefined;
    this.#track(body.auth?.lease_duration ?? 0, body.auth?.renewable ?? false);
  }

  #expired(): McpdError {
    const { name } = this.#options;
    const when = new Date(this.#expiresAt).toISOString();
    const why = this.#renewFailure ? `; renewing it failed: ${this.#renewFailure}` : ' and it cannot be renewed';
    return new McpdError('PROVIDER_FAILED', `the Vault token from ${this.#source} for provider "${name}" expired at ${when}${why}`, {
      hint: `log in again (vault login) or set a fresh token in ${this.#source}; AppRole (providers.${name}.auth.method "approle") logs in again by itself`,
    });
  }
}
