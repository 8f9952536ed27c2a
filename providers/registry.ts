/**
 * Maps a provider name to its instance. Built-in names work with no configuration; the config's
 * `providers` block adds names or overrides them. The backends (backends.ts) are imported when
 * the first provider is created, and each loads its own library (the keychain's native module,
 * node-vault, the 1Password SDK, execa) only when first used.
 *
 * Adding a backend: one file in providers/ exporting `settings` (the zod schema of its config
 * block) and `create`, and one line in backends.ts; the config schema picks the settings up from
 * there. Optionally a name in `builtinProviders` below (to answer with no configuration) and its
 * type in REMOTE (to be cached by default).
 */
import ms from 'ms';
import type { Clock } from '../core/clock.js';
import type { Env } from '../core/paths.js';
import { McpdError } from '../core/errors.js';
import type { ProviderConfig, ProviderConfigOf, ProviderType } from './backends.js';
import { cached, DEFAULT_FAILURE_TTL_MS } from './cache.js';
import type { Provider } from './provider.js';
import { own } from '../core/own.js';

export interface ProviderContext {
  /** The caller's environment: `${NAME}` references and provider settings read it. */
  readonly env: Env;
  readonly registry: ProviderRegistry;
  /** `--verbose` notes; never given a value. */
  readonly note: (message: string) => void;
  /** What the user should hear about even without --verbose (a token sent in the clear); never given a value. */
  readonly warn: (message: string) => void;
  /**
   * Resolves the references in one of the provider's own settings (a token kept in the
   * keychain: `"serviceAccountToken": "${keychain:1password/sa-token}"`). `where` names the
   * setting in errors (`providers.op.serviceAccountToken`). Loops are refused when the config loads.
   */
  readonly resolveSetting: (text: string, where: string) => Promise<string>;
}

export type Factory<T extends ProviderType> = (name: string, config: ProviderConfigOf<T>, ctx: ProviderContext) => Provider;
/** Factories that replace the built-in ones by type: how benchmarks put a double behind a backend. */
export type Factories = { [T in ProviderType]?: Factory<T> };

/** Backends worth sparing: over the network, rate-limited, or slow to ask. Local stores are not cached. */
const REMOTE = new Set<ProviderType>(['vault', '1password', 'exec']);
const DEFAULT_REMOTE_TTL_MS = 5 * 60_000;

/** Names that answer with no configuration at all. */
export const builtinProviders: Readonly<Record<string, ProviderConfig>> = {
  env: { type: 'env' },
  file: { type: 'file' },
  credential: { type: 'credential' },
  keychain: { type: 'keychain', service: 'mcpd' },
  local: { type: 'local', key: 'auto' },
  secret: { type: 'secret' },
  // As their own CLIs: $VAULT_ADDR with $VAULT_TOKEN or ~/.vault-token; $OP_SERVICE_ACCOUNT_TOKEN or the desktop app.
  vault: { type: 'vault', auth: { method: 'token' }, timeout: '10s' },
  op: { type: '1password' },
};

export class ProviderRegistry {
  readonly #configs: Record<string, ProviderConfig>;
  readonly #instances = new Map<string, Promise<Provider>>();
  readonly #ctx: ProviderContext;

  readonly #cacheClock: Clock | undefined;
  readonly #factories: Factories;

  /** `cache`: keep resolved values in memory (the daemon does; a one-shot CLI has no use for it). */
  /** `warn` defaults to a line on stderr (the CLI's); the daemon sends it to its log. */
  constructor(configured: Record<string, ProviderConfig>, options: { env: Env; note?: (message: string) => void; warn?: (message: string) => void; cache?: Clock; factories?: Factories }) {
    this.#cacheClock = options.cache;
    this.#factories = options.factories ?? {};
    this.#configs = { ...builtinProviders, ...configured };
    this.#ctx = {
      env: options.env,
      registry: this,
      note: options.note ?? (() => {}),
      warn: options.warn ?? ((message) => process.stderr.write(`mcpd: warning: ${message}\n`)),
      resolveSetting: async (text, where) => (await import('./resolver.js')).resolveText(text, this, where),
    };
  }

  names(): string[] {
    return Object.keys(this.#configs).sort();
  }

  has(name: string): boolean {
    return Object.hasOwn(this.#configs, name);
  }

  configOf(name: string): ProviderConfig {
    const config = own(this.#configs, name);
    if (!config) throw unknownProvider(name, this.names());
    return config;
  }

  /** The one long-lived instance for `name`, created on first use. */
  get(name: string): Promise<Provider> {
    let instance = this.#instances.get(name);
    if (!instance) {
      const config = this.configOf(name);
      const override = this.#factories[config.type];
      const load = override ? Promise.resolve(override) : import('./backends.js').then(({ backends }) => backends[config.type].create);
      instance = load.then((create) => this.#withCache((create as Factory<typeof config.type>)(name, config, this.#ctx), config));
      this.#instances.set(name, instance);
    }
    return instance;
  }

  #withCache(provider: Provider, config: ProviderConfig): Provider {
    if (!this.#cacheClock) return provider;
    const configured = 'cacheTtl' in config && config.cacheTtl ? ms(config.cacheTtl as ms.StringValue) : undefined;
    const ttlMs = configured ?? (REMOTE.has(config.type) ? DEFAULT_REMOTE_TTL_MS : 0);
    return cached(provider, { ttlMs, failureTtlMs: DEFAULT_FAILURE_TTL_MS }, this.#cacheClock);
  }

  async close(): Promise<void> {
    const instances = [...this.#instances.values()];
    this.#instances.clear();
    await Promise.allSettled(instances.map(async (p) => (await p).close()));
  }
}

export function unknownProvider(name: string, known: readonly string[], where?: string): McpdError {
  const place = where ? ` in ${where}` : '';
  return new McpdError('PROVIDER_UNKNOWN', `unknown provider "${name}"${place}; known providers: ${known.join(', ')}`, {
    hint: `add "${name}" to the config's "providers" block, or use one of the known providers`,
  });
}
