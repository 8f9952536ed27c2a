/**
 * Each `type` of a listener's `auth` entry, mapped to the factory of its provider. A new
 * provider (`jwt`, the next `oauth`) is one more file and one more line here.
 */
import type { AuthProviderConfig, Config } from '../../config/schema.js';
import type { ClientAccess } from '../access.js';
import { bearerProvider } from './bearer.js';
import { forwardedProvider } from './forwarded.js';
import { jwtProvider } from './jwt.js';
import { noneProvider } from './none.js';
import type { ClientAuthProvider } from './provider.js';

/** What a provider may use besides its entry: the token store, the live config, and where it is written. */
export interface ProviderContext {
  readonly access: ClientAccess;
  /** The current config (a reload changes roles without rebuilding the listener). */
  readonly config: () => Config;
  /** Its config path, `socket.listen[N].auth[M]`, for messages. */
  readonly where: string;
}

type Factories = { readonly [T in AuthProviderConfig['type']]: (entry: Extract<AuthProviderConfig, { type: T }>, context: ProviderContext) => ClientAuthProvider };

const factories: Factories = {
  bearer: (_entry, { access }) => bearerProvider(access),
  forwarded: (entry, { config, where }) => forwardedProvider(entry, () => config().roles, where),
  none: (entry) => noneProvider(entry),
  jwt: (entry, { config, where }) => jwtProvider(entry, () => config().roles, where),
};

/** The provider of one `auth` entry. */
export function createProvider(entry: AuthProviderConfig, context: ProviderContext): ClientAuthProvider {
  const factory = factories[entry.type] as (entry: AuthProviderConfig, context: ProviderContext) => ClientAuthProvider;
  return factory(entry, context);
}
