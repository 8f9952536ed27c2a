/**
 * The local encrypted store: mcpd's embedded default, needing no other software.
 *
 *   "providers": {
 *     "local": { "type": "local", "path": "~/.local/share/mcpd/store.json", "key": "auto" }
 *   }
 *
 * `${local:github/pat}` is the newest version of entry `github/pat`. Each write adds a version
 * (the last KEEP_VERSIONS are kept, so a rotation can still read the old value). The key comes
 * from the OS keychain, else $MCPD_STORE_PASSPHRASE, else a key file (see store-key.ts).
 */
import { join } from 'node:path';
import { z } from 'zod';
import { oneOf } from '../core/choice.js';
import { McpdError } from '../core/errors.js';
import { dataDir, expandHome } from '../core/paths.js';
import type { ProviderContext } from './registry.js';
import { conflict, type Provider, type Ref, type Resolution, showRef, type StoreOptions, type Version } from './provider.js';
import { entryAad, keyOpens, newStore, readStore, seal, type StoreData, unseal, corrupt, withStoreLock, writeStore } from './local-store/store-file.js';
import { createKey, openKey, wrongKey } from './local-store/store-key.js';
import { own } from '../core/own.js';

export const settings = z.strictObject({
  type: z.literal('local'),
  /** The store file; default `store.json` in the data dir. */
  path: z.string().optional(),
  /** Where the store's key comes from when the store is created. */
  key: oneOf(['auto', 'keychain', 'passphrase', 'file'], 'key source').default('auto'),
});
export type LocalConfig = z.output<typeof settings>;

const KEEP_VERSIONS = 10;

export function create(name: string, config: LocalConfig, ctx: ProviderContext): Provider {
  const path = config.path ? expandHome(config.path, ctx.env) : join(dataDir(ctx.env), 'store.json');
  return new LocalStore(name, path, config.key, ctx);
}

export class LocalStore implements Provider {
  readonly name: string;
  readonly path: string;
  readonly #keyPreference: LocalConfig['key'];
  readonly #ctx: ProviderContext;
  #key: Promise<Buffer> | undefined;

  constructor(name: string, path: string, keyPreference: LocalConfig['key'], ctx: ProviderContext) {
    this.name = name;
    this.path = path;
    this.#keyPreference = keyPreference;
    this.#ctx = ctx;
  }

  async resolve(refs: readonly Ref[]): Promise<Resolution[]> {
    const store = await readStore(this.path);
    if (!store) return refs.map((ref) => this.#notFound(ref));
    const key = await this.#keyFor(store);
    return refs.map((ref) => {
      const latest = own(store.entries, ref.path)?.at(-1);
      if (!latest) return this.#notFound(ref);
      const value = unseal(key, latest, entryAad(ref.path, latest.version));
      if (value === undefined) return corrupt(this.path, `entry ${ref.path} fails authentication`);
      return { value, version: String(latest.version) };
    });
  }

  async store(ref: Ref, value: string, options: StoreOptions = {}): Promise<Version> {
    return withStoreLock(this.path, async () => {
      const existing = await readStore(this.path);
      const { store, key } = existing ? { store: existing, key: await this.#keyFor(existing) } : await this.#create();
      const versions = own(store.entries, ref.path) ?? [];
      const current = versions.at(-1)?.version ?? 0;
      if (options.ifVersion !== undefined && options.ifVersion !== String(current)) throw conflict(ref, options.ifVersion, String(current));
      const version = current + 1;
      const sealed = seal(key, value, entryAad(ref.path, version));
      store.entries[ref.path] = [...versions, { version, created: new Date().toISOString(), ...sealed }].slice(-KEEP_VERSIONS);
      await writeStore(this.path, store);
      return String(version);
    });
  }

  async remove(ref: Ref): Promise<void> {
    await withStoreLock(this.path, async () => {
      const store = await readStore(this.path);
      if (!store || !own(store.entries, ref.path)) throw this.#notFound(ref);
      await this.#keyFor(store); // only the key's holder may delete
      delete store.entries[ref.path];
      await writeStore(this.path, store);
    });
  }

  async list(prefix?: string): Promise<Ref[]> {
    const store = await readStore(this.path);
    const paths = Object.keys(store?.entries ?? {}).filter((path) => !prefix || path === prefix || path.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`));
    return paths.sort().map((path) => ({ raw: `${this.name}:${path}`, provider: this.name, path }));
  }

  async close(): Promise<void> {
    this.#key = undefined;
  }

  /** The store's key, derived once per provider (scrypt is deliberately slow), checked against the store. */
  async #keyFor(store: StoreData): Promise<Buffer> {
    this.#key ??= openKey(this.path, store.key, this.#ctx.env);
    const key = await this.#key.catch((error: unknown) => {
      this.#key = undefined;
      throw error;
    });
    if (!keyOpens(store, key)) {
      this.#key = undefined;
      throw wrongKey(this.path, store.key.source);
    }
    return key;
  }

  async #create(): Promise<{ store: StoreData; key: Buffer }> {
    const { header, key } = await createKey(this.path, this.#keyPreference, this.#ctx.env);
    this.#ctx.note(`created the local store ${this.path} (key: ${header.source})`);
    this.#key = Promise.resolve(key);
    return { store: newStore(header, key), key };
  }

  #notFound(ref: Ref): McpdError {
    return new McpdError('SECRET_NOT_FOUND', `${showRef(ref)}: no such secret in the local store ${this.path}`, {
      hint: `store it with: mcpd secret set ${ref.raw}`,
    });
  }
}
