/**
 * HashiCorp Vault, through node-vault.
 *
 *   "providers": {
 *     "vault": {
 *       "type": "vault",
 *       "address": "https://vault.example.com:8200",         // default $VAULT_ADDR
 *       "namespace": "team-a",                                // default $VAULT_NAMESPACE
 *       "auth": { "method": "approle", "roleId": "${file:/etc/mcpd/role-id}", "secretId": "${keychain:vault/secret-id}" },
 *       "tls": { "caFile": "/etc/ssl/vault-ca.pem", "serverName": "vault.internal" },
 *       "timeout": "10s"
 *     }
 *   }
 *
 * `auth` may also be `{ "method": "token", "token": "${keychain:vault/token}" }`; with neither,
 * the token is $VAULT_TOKEN, else ~/.vault-token, as the vault CLI does (see vault/auth.ts).
 *
 * `${vault:PATH#FIELD}` reads PATH as `vault read` takes it, so a KV v2 path includes `data/`
 * (`${vault:secret/data/github#token}`); `?version=3` pins a KV v2 version; without `#FIELD` a
 * secret with one field gives that field. A response with a lease (a dynamic secret such as
 * `${vault:database/creds/readonly#password}`) carries it, for renew() and revoke().
 */
import ms from 'ms';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { discriminatorErrors } from '../core/choice.js';
import { type Clock, systemClock } from '../core/clock.js';
import { duration } from '../core/duration.js';
import { McpdError } from '../core/errors.js';
import { expandHome } from '../core/paths.js';
import { cacheable } from './cache-ttl.js';
import type { ProviderContext } from './registry.js';
import { type Lease, type Provider, type Ref, type Resolution, showRef, type StoreOptions, type Version } from './provider.js';
import { VaultSession } from './vault/auth.js';
import { about, detailOf, statusOf, VaultHttp } from './vault/client.js';
import { plainHttpElsewhere } from './vault/request.js';
import { notFound, parseVaultRef, pickField, type Secret, secretOf, type VaultRef, writeField } from './vault/kv.js';

export const settings = z.strictObject({
  type: z.literal('vault'),
  /** Default $VAULT_ADDR. May hold references. */
  address: z.string().optional(),
  /** Vault Enterprise namespace (the X-Vault-Namespace header); default $VAULT_NAMESPACE. */
  namespace: z.string().optional(),
  auth: z.discriminatedUnion('method', [
    /** token: default $VAULT_TOKEN, else ~/.vault-token; may be a reference. */
    z.strictObject({ method: z.literal('token'), token: z.string().optional() }),
    z.strictObject({ method: z.literal('approle'), roleId: z.string().min(1), secretId: z.string().min(1), mount: z.string().default('approle') }),
  ], { errorMap: discriminatorErrors('Vault auth method', 'Vault auth settings such as {"method": "token"}') }).default({ method: 'token' }),
  tls: z.strictObject({ caFile: z.string().optional(), serverName: z.string().optional() }).optional(),
  timeout: duration.default('10s'),
  ...cacheable,
});
export type VaultConfig = z.output<typeof settings>;

/** What tests replace: time (TTLs, renewal timers) and the renewal jitter. */
export interface VaultDeps {
  readonly clock: Clock;
  readonly random: () => number;
}

export function create(name: string, config: VaultConfig, ctx: ProviderContext): Provider {
  return createVault(name, config, ctx, { clock: systemClock, random: Math.random });
}

export function createVault(name: string, config: VaultConfig, ctx: ProviderContext, deps: VaultDeps): Provider {
  return new VaultProvider(name, config, ctx, deps);
}

interface Connection {
  readonly http: VaultHttp;
  readonly session: VaultSession;
}

class VaultProvider implements Provider {
  readonly name: string;
  readonly #config: VaultConfig;
  readonly #ctx: ProviderContext;
  readonly #deps: VaultDeps;
  #connection: Promise<Connection> | undefined;
  /** Seconds each lease was first granted for (the increment asked for on renewal), and when it ends. */
  readonly #granted = new Map<string, { seconds: number; until: number }>();
  #closed = false;

  constructor(name: string, config: VaultConfig, ctx: ProviderContext, deps: VaultDeps) {
    this.name = name;
    this.#config = config;
    this.#ctx = ctx;
    this.#deps = deps;
  }

  async resolve(refs: readonly Ref[]): Promise<Resolution[]> {
    let connection: Connection;
    try {
      connection = await this.#ready();
    } catch (error) {
      return refs.map((ref) => about(showRef(ref), error));
    }
    const parsed = refs.map((ref): VaultRef | McpdError => {
      try {
        return parseVaultRef(ref);
      } catch (error) {
        return error instanceof McpdError ? error : about(showRef(ref), error);
      }
    });
    // One read per path however many fields are asked of it. Every call reads afresh, so each
    // resolve of a dynamic path is a new lease: a leased credential is never shared between launches.
    const reads = new Map<string, Promise<Secret | McpdError>>();
    for (const vref of parsed) {
      if (vref instanceof McpdError || reads.has(vref.readPath)) continue;
      reads.set(vref.readPath, this.#read(connection.http, vref));
    }
    return Promise.all(parsed.map(async (vref, i): Promise<Resolution> => {
      if (vref instanceof McpdError) return vref;
      const secret = await reads.get(vref.readPath)!;
      if (secret instanceof McpdError) return about(showRef(refs[i]!), secret);
      try {
        return pickField(vref, secret);
      } catch (error) {
        return error instanceof McpdError ? error : about(showRef(refs[i]!), error);
      }
    }));
  }

  async store(ref: Ref, value: string, options: StoreOptions = {}): Promise<Version> {
    const vref = parseVaultRef(ref);
    const { http } = await this.#ready().catch((error: unknown) => {
      throw about(showRef(ref), error);
    });
    return writeField(http, vref, value, () => this.#deps.clock.now(), options.ifVersion);
  }

  async renew(lease: Lease): Promise<Lease> {
    const { http } = await this.#ready().catch((error: unknown) => {
      throw about(`renewing lease ${lease.id}`, error);
    });
    const asked = this.#granted.get(lease.id)?.seconds;
    const body = await http.renewLease(lease.id, asked).catch((error: unknown) => {
      if (statusOf(error) !== 400) throw about(`renewing lease ${lease.id}`, error);
      throw new McpdError('PROVIDER_FAILED', `${http.where} refused to renew lease ${lease.id}: ${detailOf(error)}`, {
        hint: 'the lease has expired, was revoked or cannot be renewed: resolve its reference again for a new one',
        cause: (error as McpdError).cause,
      });
    });
    const granted = body.lease_duration ?? 0;
    const expiresAt = this.#deps.clock.now() + granted * 1000;
    // Vault gives less than asked once a lease nears its max TTL; the caller sees it in expiresAt and rolls over.
    if (asked) this.#granted.set(lease.id, { seconds: asked, until: expiresAt });
    if (asked && granted < asked) this.#ctx.note(`lease ${lease.id} is capped by its max TTL: it ends at ${new Date(expiresAt).toISOString()}`);
    return { id: body.lease_id || lease.id, expiresAt, renewable: body.renewable === true };
  }

  async revoke(lease: Lease): Promise<void> {
    const { http } = await this.#ready().catch((error: unknown) => {
      throw about(`revoking lease ${lease.id}`, error);
    });
    await http.revokeLease(lease.id).catch((error: unknown) => {
      throw about(`revoking lease ${lease.id}`, error);
    });
    this.#granted.delete(lease.id);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const connection = await this.#connection?.catch(() => undefined);
    connection?.session.close();
    this.#granted.clear();
  }

  async #read(http: VaultHttp, vref: VaultRef): Promise<Secret | McpdError> {
    try {
      const secret = secretOf(await http.read(vref.readPath), this.#deps.clock.now());
      if (secret.lease) this.#remember(secret.lease);
      if (vref.version && secret.version === undefined) {
        return new McpdError('CONFIG_INVALID', `?version applies to KV version 2 secrets, and ${vref.path} is not one`, {
          hint: `drop ?version=${vref.version} from the reference`,
        });
      }
      return secret;
    } catch (error) {
      return statusOf(error) === 404 ? notFound(http, vref, error as McpdError) : (error as McpdError);
    }
  }

  #remember(lease: Lease): void {
    const now = this.#deps.clock.now();
    // Leases that ran out unrevoked (a server that crashed) are forgotten here, so a long-lived daemon does not pile them up.
    for (const [id, { until }] of this.#granted) if (until <= now) this.#granted.delete(id);
    this.#granted.set(lease.id, { seconds: Math.round((lease.expiresAt - now) / 1000), until: lease.expiresAt });
  }

  /** The connection with a live token; settings are resolved once, the token kept alive by the session. */
  async #ready(): Promise<Connection> {
    if (this.#closed) throw new McpdError('PROVIDER_UNAVAILABLE', `the Vault provider "${this.name}" is closed`, { hint: 'this is a bug in mcpd if it happens outside shutdown' });
    this.#connection ??= this.#connect().catch((error: unknown) => {
      this.#connection = undefined;
      throw error;
    });
    const connection = await this.#connection;
    await connection.session.ready();
    return connection;
  }

  async #connect(): Promise<Connection> {
    const { name } = this;
    const { env, resolveSetting } = this.#ctx;
    const setting = (text: string | undefined, key: string) => (text ? resolveSetting(text, `providers.${name}.${key}`) : Promise.resolve(undefined));
    const source = this.#config.address ? `providers.${name}.address` : '$VAULT_ADDR';
    const address = ((await setting(this.#config.address, 'address')) ?? env.VAULT_ADDR ?? '').trim().replace(/\/+$/, '');
    if (!address) {
      throw new McpdError('CONFIG_INVALID', `no Vault address: set providers.${name}.address or $VAULT_ADDR`, {
        hint: 'e.g. "address": "https://vault.example.com:8200" in the provider\'s config, or export VAULT_ADDR',
      });
    }
    if (!/^https?:\/\/[^/]/.test(address) || !URL.canParse(address)) {
      throw new McpdError('CONFIG_INVALID', `${source}: expected an http:// or https:// URL, got "${address}"`, { hint: 'e.g. "https://vault.example.com:8200"' });
    }
    if (plainHttpElsewhere(address) && !warnedPlain.has(address)) {
      warnedPlain.add(address);
      this.#ctx.warn(`${source} is ${address}: plain HTTP to another machine, so the Vault token and every secret cross the network unencrypted; use https://`);
    }
    const namespace = (await setting(this.#config.namespace, 'namespace')) ?? env.VAULT_NAMESPACE;
    const caFile = (await setting(this.#config.tls?.caFile, 'tls.caFile')) ?? env.VAULT_CACERT;
    const ca = caFile ? await readCa(name, expandHome(caFile, env)) : undefined;
    const http = new VaultHttp({
      name,
      address,
      namespace: namespace?.trim() || undefined,
      timeoutMs: this.#config.timeout ? ms(this.#config.timeout as ms.StringValue) : 10_000,
      ca,
      serverName: this.#config.tls?.serverName ?? env.VAULT_TLS_SERVER_NAME,
    });
    const session = new VaultSession(http, { name, auth: this.#config.auth ?? { method: 'token' }, ctx: this.#ctx, ...this.#deps });
    if (this.#closed) session.close();
    return { http, session };
  }
}

/** Addresses already warned about: once per process, not at every reload or provider instance. */
const warnedPlain = new Set<string>();

async function readCa(name: string, file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    throw new McpdError('CONFIG_INVALID', `providers.${name}.tls.caFile: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`, {
      hint: 'point tls.caFile (or $VAULT_CACERT) at the PEM file of the CA that signed Vault\'s certificate',
    });
  }
}
