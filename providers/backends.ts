/**
 * Every secret backend, by the `type` its config block names. Each backend's module owns the
 * schema of its settings (`settings`, which daemon/config/schema.ts composes into the config's
 * `providers` block) and builds its provider (`create`, which registry.ts calls on first use).
 *
 * Importing this loads every backend module, none of which loads its heavy library before first
 * use (node-vault, the 1Password SDK, the keychain's native module, execa). registry.ts imports
 * it only when it creates a provider, so verbs that only talk to the daemon never load zod.
 */
import type { z } from 'zod';
import type { Provider } from './provider.js';
import type { ProviderContext } from './registry.js';
import * as credential from './credential.js';
import * as env from './env.js';
import * as exec from './exec.js';
import * as file from './file.js';
import * as keychain from './keychain.js';
import * as local from './local.js';
import * as onepassword from './onepassword.js';
import * as secret from './secret.js';
import * as vault from './vault.js';

// In the order `mcpd config check` lists the known types.
export const backends = {
  env,
  file,
  credential,
  keychain,
  local,
  secret,
  vault,
  '1password': onepassword,
  exec,
};

export type ProviderType = keyof typeof backends;
export type ProviderConfigOf<T extends ProviderType> = z.output<(typeof backends)[T]['settings']>;
export type ProviderConfig = { [T in ProviderType]: ProviderConfigOf<T> }[ProviderType];

/** What a backend's module must export: settings whose `type` is its key above, and a `create` taking them. */
type Backend<T extends ProviderType> = {
  readonly settings: z.ZodType<{ type: T }, z.ZodTypeDef, unknown>;
  readonly create: (name: string, config: ProviderConfigOf<T>, ctx: ProviderContext) => Provider;
};
type Checked<T extends { readonly [K in ProviderType]: Backend<K> }> = T;
// Types only: a backend listed under another type than its settings', or whose `create` wants other settings, fails tsc here.
type _Backends = Checked<typeof backends>;
