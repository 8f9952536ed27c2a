/**
 * The one place mcpd speaks HTTP to Vault, through node-vault. Everything node-vault would
 * otherwise take from process.env (address, token, namespace, path prefix, VAULT_SKIP_VERIFY)
 * is pinned here, so the caller's environment (the daemon's ctx.env) is the only one that counts.
 *
 * Every failure leaves this file as an McpdError whose message names the Vault and the API path;
 * callers that need to reword one (a 404 on a read, a 400 on a lease) look at `statusOf`.
 * Raw axios errors are never kept as a cause: they hold the request, and so the token header
 * and, for a write, the value.
 */
import { createRequire } from 'node:module';
import type nodeVault from 'node-vault';
import { McpdError } from '../../core/errors.js';
import { CrossOriginRedirect, vaultRequest } from './request.js';

export interface VaultTarget {
  /** The provider's config name, for hints (`providers.vault.address`). */
  readonly name: string;
  readonly address: string;
  readonly namespace: string | undefined;
  readonly timeoutMs: number;
  readonly ca?: Buffer | undefined;
  readonly serverName?: string | undefined;
}

/** The parts of Vault's response envelope mcpd reads. */
export interface VaultBody {
  readonly lease_id?: string;
  readonly lease_duration?: number;
  readonly renewable?: boolean;
  readonly data?: Record<string, unknown> | null;
  readonly auth?: { client_token?: string; lease_duration?: number; renewable?: boolean } | null;
}

/** A mount as `sys/internal/ui/mounts/PATH` describes it (what the vault CLI asks before a KV call). */
export interface VaultMount {
  readonly path: string;
  readonly type: string;
  readonly version: string | undefined;
}

/** What Vault answered, kept as an McpdError's cause: status and Vault's own error strings. */
export class VaultAnswer extends Error {
  constructor(readonly status: number, readonly errors: readonly string[], readonly body: unknown) {
    super(`HTTP ${status}${errors.length ? `: ${errors.join('; ')}` : ''}`);
  }
}

export function statusOf(error: unknown): number | undefined {
  return error instanceof McpdError && error.cause instanceof VaultAnswer ? error.cause.status : undefined;
}

/** Vault's first error string, shortened; Vault's errors name paths and reasons, never secret data. */
export function detailOf(error: unknown): string {
  const errors = error instanceof McpdError && error.cause instanceof VaultAnswer ? error.cause.errors : [];
  return (errors[0] ?? '').split('\n')[0]!.slice(0, 200) || 'no detail given';
}

/** An error about one subject (a reference, a lease): its message prefixed, its code, hint and cause kept. */
export function about(subject: string, error: unknown): McpdError {
  if (!(error instanceof McpdError)) {
    return new McpdError('PROVIDER_FAILED', `${subject}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return new McpdError(error.code, `${subject}: ${error.message}`, { hint: error.hint, cause: error.cause });
}

// Required at first use, not imported: the config schema imports the Vault backend, and a config without Vault should not pay for node-vault.
function loadNodeVault(): typeof nodeVault {
  return createRequire(import.meta.url)('node-vault') as typeof nodeVault;
}

export class VaultHttp {
  /** "Vault at https://…" (with its namespace): how every message names this backend. */
  readonly where: string;
  readonly #target: VaultTarget;
  readonly #client: ReturnType<typeof nodeVault>;

  constructor(target: VaultTarget) {
    this.#target = target;
    this.where = `Vault at ${target.address}${target.namespace ? ` (namespace ${target.namespace})` : ''}`;
    this.#client = loadNodeVault()({
      endpoint: target.address,
      // TLS pinned on, and no redirect takes the token to another host (vault/request.ts).
      'request-promise': vaultRequest(target),
      // Its debug output prints request bodies, which for a write hold the value.
      debug: () => {},
    });
    // node-vault reads `config.x || process.env.VAULT_X`: an unset setting must stay unset, not come from the daemon's environment.
    const client = this.#client as unknown as Record<string, unknown>;
    client.token = '';
    client.namespace = target.namespace;
    client.pathPrefix = '';
  }

  set token(token: string) {
    this.#client.token = token;
  }

  read(path: string): Promise<VaultBody> {
    return this.#call('GET', path, () => this.#client.read(path));
  }

  write(path: string, body: object): Promise<VaultBody> {
    return this.#call('POST', path, () => this.#client.write(path, body));
  }

  lookupSelf(): Promise<VaultBody> {
    return this.#call('GET', 'auth/token/lookup-self', () => this.#client.tokenLookupSelf());
  }

  renewSelf(): Promise<VaultBody> {
    return this.#call('POST', 'auth/token/renew-self', () => this.#client.tokenRenewSelf());
  }

  approleLogin(mount: string, roleId: string, secretId: string): Promise<VaultBody> {
    return this.#call('POST', `auth/${mount}/login`, () => this.#client.approleLogin({ mount_point: mount, role_id: roleId, secret_id: secretId }));
  }

  renewLease(id: string, increment: number | undefined): Promise<VaultBody> {
    return this.#call('PUT', 'sys/leases/renew', () => this.#client.renew(increment ? { lease_id: id, increment } : { lease_id: id }));
  }

  revokeLease(id: string): Promise<VaultBody> {
    return this.#call('PUT', 'sys/leases/revoke', () => this.#client.revoke({ lease_id: id }));
  }

  /** The mount holding `path`, or undefined when Vault will not say (an old Vault, a policy without access). */
  async mountOf(path: string): Promise<VaultMount | undefined> {
    const body = await this.read(`sys/internal/ui/mounts/${path}`).catch(() => undefined);
    const data = body?.data;
    if (!data || typeof data.path !== 'string' || typeof data.type !== 'string') return undefined;
    const options = data.options as { version?: unknown } | null | undefined;
    return { path: data.path, type: data.type, version: typeof options?.version === 'string' ? options.version : undefined };
  }

  async #call(method: string, path: string, run: () => Promise<unknown>): Promise<VaultBody> {
    try {
      // A 204 (a v1 write, a revoke) has an empty body.
      return ((await run()) || {}) as VaultBody;
    } catch (error) {
      throw this.#translate(error, method, path);
    }
  }

  #translate(error: unknown, method: string, path: string): McpdError {
    const { name, address, timeoutMs } = this.#target;
    const response = (error as { response?: { statusCode?: unknown; body?: unknown } } | undefined)?.response;
    if (typeof response?.statusCode === 'number') {
      const status = response.statusCode;
      const body = response.body as { errors?: unknown } | undefined;
      const errors = Array.isArray(body?.errors) ? body.errors.map(String) : [];
      const cause = new VaultAnswer(status, errors, response.body);
      if (status === 503 && errors.some((e) => /sealed/i.test(e))) {
        return new McpdError('PROVIDER_UNAVAILABLE', `${this.where} is sealed`, { hint: 'unseal it (vault operator unseal), then try again', cause });
      }
      if (status >= 500) {
        return new McpdError('PROVIDER_UNAVAILABLE', `${this.where} failed ${method} ${path} with HTTP ${status} (${errors[0] ?? 'no detail given'})`, {
          hint: 'check the server\'s health with: vault status', cause,
        });
      }
      if (status === 403) {
        return new McpdError('PROVIDER_FAILED', `permission denied for ${path} on ${this.where} (the token lacks a policy for ${path}, or has expired)`, {
          hint: `grant the token's policy access to ${path}, or log in again (vault login)`, cause,
        });
      }
      if (status === 404) {
        return new McpdError('SECRET_NOT_FOUND', `nothing at ${path} on ${this.where}`, { hint: `check the path with: vault read ${path}`, cause });
      }
      return new McpdError('PROVIDER_FAILED', `${this.where} refused ${method} ${path} with HTTP ${status}: ${errors[0] ?? 'no detail given'}`, { cause });
    }
    if (error instanceof CrossOriginRedirect) {
      return new McpdError('PROVIDER_FAILED', `${this.where} redirected ${method} ${path} to ${error.to}, another host; mcpd does not send the Vault token there and followed no further`, {
        hint: `if ${error.to} is your Vault (a cluster's active node, which a standby redirects to), set providers.${name}.address or $VAULT_ADDR to it; else find out why ${address} redirects`,
      });
    }
    const code = (error as { code?: unknown } | undefined)?.code;
    const detail = typeof code === 'string' ? code : error instanceof Error ? error.message.split('\n')[0]!.slice(0, 160) : String(error);
    const cause = new Error(detail);
    if (code === 'ECONNABORTED' || code === 'ETIMEDOUT') {
      return new McpdError('PROVIDER_TIMEOUT', `${this.where} did not answer ${method} ${path} within ${timeoutMs / 1000} s`, {
        hint: `check that Vault answers at ${address}, or raise providers.${name}.timeout`, cause,
      });
    }
    if (typeof code === 'string' && /CERT|TLS|SSL|SELF_SIGNED/.test(code)) {
      return new McpdError('PROVIDER_UNAVAILABLE', `${this.where} did not pass TLS verification (${code})`, {
        hint: `set providers.${name}.tls.caFile to the CA that signed Vault's certificate (and tls.serverName if ${address} is not a name on it)`, cause,
      });
    }
    if (!(error as { isAxiosError?: unknown } | undefined)?.isAxiosError) {
      return new McpdError('PROVIDER_FAILED', `${method} ${path} on ${this.where} failed (${detail})`, { cause });
    }
    return new McpdError('PROVIDER_UNAVAILABLE', `${this.where} is not reachable (${detail})`, {
      hint: `check that Vault is running and that providers.${name}.address or $VAULT_ADDR points at it`, cause,
    });
  }
}
