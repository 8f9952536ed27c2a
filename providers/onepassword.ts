/**
 * 1Password, through @1password/sdk: a service account, or the desktop app's session.
 *
 *   "providers": {
 *     "op": {
 *       "type": "1password",
 *       "serviceAccountToken": "${keychain:1password/sa-token}",   // default $OP_SERVICE_ACCOUNT_TOKEN
 *       "account": "my-team.1password.com",                        // the desktop app instead (default $OP_ACCOUNT)
 *       "cacheTtl": "5m"
 *     }
 *   }
 *
 * A configured setting beats the environment, and a token beats an account, as with `op`:
 * serviceAccountToken, account, $OP_SERVICE_ACCOUNT_TOKEN, $OP_ACCOUNT. With none, the built-in
 * `op` provider fails naming both ways to sign in.
 *
 * `${op://VAULT/ITEM/[SECTION/]FIELD}` is read exactly as 1Password's "Copy Secret Reference"
 * writes it; under another provider name the `op://` may be left out (`${work:Vault/Item/field}`).
 * Every reference is checked offline first; a launch's references are then read in one
 * `resolveAll`, since service accounts allow only 1,000–10,000 reads an hour. `store` writes an
 * existing field with `items.put` (rotation, `mcpd secret set op://…`); it never creates items.
 *
 * One client per provider, created on first use (it takes seconds) and shared by concurrent
 * calls. A desktop session that expired is signed in again once per call, then reported.
 */
import type { ResolveAllResponse } from '@1password/sdk';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { asMcpdError, McpdError } from '../core/errors.js';
import { cacheable } from './cache-ttl.js';
import type { ProviderContext } from './registry.js';
import { type Provider, type Ref, type Resolution, showRef, type Version } from './provider.js';
import { fieldOf, type OpRef, parseOpRef } from './onepassword/reference.js';
import { about, type CreateOpClient, loadSdk, type OpAuth, type OpClient, referenceFailed, type Sdk, sessionExpired, translate } from './onepassword/sdk.js';

export const settings = z.strictObject({
  type: z.literal('1password'),
  /** A reference to the token (typically `${keychain:1password/sa-token}`); default $OP_SERVICE_ACCOUNT_TOKEN. */
  serviceAccountToken: z.string().optional(),
  /** Use the desktop app's session for this account instead of a token (default $OP_ACCOUNT). */
  account: z.string().optional(),
  ...cacheable,
});
export type OnePasswordConfig = z.output<typeof settings>;

/**
 * Whether this provider signs in through the desktop app (which asks the user to approve, by
 * biometrics or password) rather than a service account: the order #auth follows, without reading a value.
 */
export function usesDesktopApp(config: Pick<OnePasswordConfig, 'serviceAccountToken' | 'account'>, env: Readonly<Record<string, string | undefined>>): boolean {
  if (config.serviceAccountToken !== undefined) return false;
  if (config.account?.trim()) return true;
  return !env.OP_SERVICE_ACCOUNT_TOKEN?.trim() && Boolean(env.OP_ACCOUNT?.trim());
}

/** What tests replace: the SDK's `createClient`, so a double stands in for 1Password. */
export interface OnePasswordDeps {
  readonly createClient: CreateOpClient;
}

export function create(name: string, config: OnePasswordConfig, ctx: ProviderContext): Provider {
  return createOnePassword(name, config, ctx, { createClient: async (options) => (await loadSdk()).createClient(options) });
}

export function createOnePassword(name: string, config: OnePasswordConfig, ctx: ProviderContext, deps: OnePasswordDeps): Provider {
  return new OnePasswordProvider(name, config, ctx, deps);
}

interface Connection {
  readonly client: OpClient;
  readonly auth: OpAuth;
}

class OnePasswordProvider implements Provider {
  readonly name: string;
  readonly #config: OnePasswordConfig;
  readonly #ctx: ProviderContext;
  readonly #deps: OnePasswordDeps;
  #connection: Promise<Connection> | undefined;

  constructor(name: string, config: OnePasswordConfig, ctx: ProviderContext, deps: OnePasswordDeps) {
    this.name = name;
    this.#config = config;
    this.#ctx = ctx;
    this.#deps = deps;
  }

  async resolve(refs: readonly Ref[]): Promise<Resolution[]> {
    if (refs.length === 0) return [];
    let sdk: Sdk;
    try {
      sdk = await loadSdk();
    } catch (error) {
      return refs.map((ref) => about(ref, error));
    }
    const parsed = refs.map((ref) => parse(ref, sdk));
    const wanted = [...new Set(parsed.flatMap((op) => (op instanceof McpdError ? [] : [op.reference])))];
    if (wanted.length === 0) return parsed as McpdError[];
    let answers: ResolveAllResponse['individualResponses'];
    try {
      answers = (await this.#call(sdk, (client) => client.secrets.resolveAll(wanted))).individualResponses;
    } catch (error) {
      return parsed.map((op) => (op instanceof McpdError ? op : about(op.ref, error)));
    }
    return parsed.map((op): Resolution => {
      if (op instanceof McpdError) return op;
      const answer = answers[op.reference];
      return answer?.content ? { value: answer.content.secret } : referenceFailed(op, answer?.error, 'read');
    });
  }

  async store(ref: Ref, value: string): Promise<Version> {
    const sdk = await loadSdk().catch((error: unknown) => {
      throw about(ref, error);
    });
    const op = parse(ref, sdk);
    if (op instanceof McpdError) throw op;
    if (op.query !== undefined) {
      throw new McpdError('REF_MALFORMED', `${showRef(ref)} selects a value 1Password computes (?${op.query}), which cannot be written`, {
        hint: 'drop the ?… part to write the field itself',
      });
    }
    const outcome = await this.#call(sdk, (client) => writeField(client, op, value)).catch((error: unknown) => {
      throw about(ref, error);
    });
    if (outcome instanceof McpdError) throw outcome;
    return outcome;
  }

  async close(): Promise<void> {
    // The SDK frees a client's memory when it is garbage-collected; dropping it is all there is to do.
    this.#connection = undefined;
  }

  /**
   * Runs `use` on the shared client. An expired desktop session gets one fresh client and one
   * more try; every failure comes out as McpdError.
   */
  async #call<T>(sdk: Sdk, use: (client: OpClient) => Promise<T>): Promise<T> {
    const current = this.#connect();
    const { client, auth } = await current;
    try {
      return await use(client);
    } catch (error) {
      if (!(error instanceof sdk.DesktopSessionExpiredError)) throw translate(error, auth, sdk, this.name);
      // Concurrent callers that hit the same expiry share the one replacement.
      if (this.#connection === current) this.#connection = undefined;
      this.#ctx.note(`1Password provider "${this.name}": the desktop app session expired; signing in again`);
    }
    const fresh = await this.#connect();
    try {
      return await use(fresh.client);
    } catch (error) {
      throw error instanceof sdk.DesktopSessionExpiredError ? sessionExpired(fresh.auth, error) : translate(error, fresh.auth, sdk, this.name);
    }
  }

  /** The one client, created on first use; a failed creation is forgotten so the next call tries again. */
  #connect(): Promise<Connection> {
    if (!this.#connection) {
      const pending = this.#open();
      this.#connection = pending;
      pending.catch(() => {
        if (this.#connection === pending) this.#connection = undefined;
      });
    }
    return this.#connection;
  }

  async #open(): Promise<Connection> {
    const sdk = await loadSdk();
    const auth = await this.#auth();
    try {
      const client = await this.#deps.createClient({
        auth: auth.kind === 'token' ? auth.token : new sdk.DesktopAuth(auth.account),
        integrationName: 'mcpd',
        integrationVersion: mcpdVersion(),
      });
      return { client, auth };
    } catch (error) {
      throw translate(error, auth, sdk, this.name);
    }
  }

  /** serviceAccountToken, account, $OP_SERVICE_ACCOUNT_TOKEN, $OP_ACCOUNT: configured before ambient, as `op` does. */
  async #auth(): Promise<OpAuth> {
    const { name } = this;
    const { env, resolveSetting } = this.#ctx;
    if (this.#config.serviceAccountToken !== undefined) {
      const source = `providers.${name}.serviceAccountToken`;
      const token = (await resolveSetting(this.#config.serviceAccountToken, source)).trim();
      if (!token) throw new McpdError('PROVIDER_UNAVAILABLE', `${source} resolved to an empty value`, { hint: `store the service account token where ${source} points` });
      return { kind: 'token', token, source };
    }
    if (this.#config.account?.trim()) return { kind: 'desktop', account: this.#config.account.trim(), source: `providers.${name}.account` };
    const token = env.OP_SERVICE_ACCOUNT_TOKEN?.trim();
    if (token) return { kind: 'token', token, source: '$OP_SERVICE_ACCOUNT_TOKEN' };
    const account = env.OP_ACCOUNT?.trim();
    if (account) return { kind: 'desktop', account, source: '$OP_ACCOUNT' };
    throw new McpdError('PROVIDER_UNAVAILABLE', `1Password provider "${name}" has no way to sign in: no service account token and no desktop app account`, {
      hint: `set providers.${name}.serviceAccountToken (e.g. "\${keychain:1password/sa-token}") or $OP_SERVICE_ACCOUNT_TOKEN; or, to use the desktop app, providers.${name}.account or $OP_ACCOUNT`,
    });
  }
}

function parse(ref: Ref, sdk: Sdk): OpRef | McpdError {
  try {
    return parseOpRef(ref, (reference) => sdk.Secrets.validateSecretReference(reference));
  } catch (error) {
    return asMcpdError(error, `checking ${showRef(ref)}`);
  }
}

/**
 * Sets the field `op` names. The reference is resolved first because items.get takes IDs and a
 * reference may hold names: 1Password matches them its own way, and says which part is missing.
 */
async function writeField(client: OpClient, op: OpRef, value: string): Promise<Version | McpdError> {
  const answer = (await client.secrets.resolveAll([op.reference])).individualResponses[op.reference];
  if (!answer?.content) return referenceFailed(op, answer?.error, 'write');
  const item = await client.items.get(answer.content.vaultId, answer.content.itemId);
  const field = fieldOf(item, op);
  if (field instanceof McpdError) return field;
  field.value = value;
  const saved = await client.items.put(item);
  // The SDK reports the item's version; a time is the fallback other providers use.
  return typeof saved.version === 'number' ? String(saved.version) : new Date().toISOString();
}

let version: string | undefined;

/** Reported to 1Password as the integration's version, as the SDK asks of every integration. */
function mcpdVersion(): string {
  if (version === undefined) {
    try {
      // dist/providers/onepassword.js → package.json at the root, as cli/main.ts reads it.
      version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
    } catch {
      version = 'unknown';
    }
  }
  return version;
}
