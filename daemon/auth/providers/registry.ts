/**
 * Each `type` of a listener's `auth` entry, mapped to the factory of its provider. A new
 * provider (`jwt`, `oauth`) is one more file and one more line here.
 */
import { McpdError } from '../../../core/errors.js';
import type { AuthProviderConfig, Config } from '../../config/schema.js';
import type { ClientAccess } from '../access.js';
import { bearerProvider } from './bearer.js';
import { forwardedProvider } from './forwarded.js';
import { jwtProvider } from './jwt.js';
import { noneProvider } from './none.js';
import { oauthProvider } from './oauth.js';
import type { OAuthIssuer } from '../oauth/issuer.js';
import type { AuditSink } from '../../audit/audit.js';
import type { ListenerOrigin } from '../../gateway/resource-metadata.js';
import type { ClientAuthProvider } from './provider.js';

/** What a provider may use besides its entry: the token store, the live config, and where it is written. */
export interface ProviderContext {
  readonly access: ClientAccess;
  /** The current config (a reload changes roles without rebuilding the listener). */
  readonly config: () => Config;
  /** Its config path, `socket.listen[N].auth[M]`, for messages. */
  readonly where: string;
  /** mcpd's authorization server, for the `oauth` provider (the daemon's; absent in tests of the others). */
  readonly oauth?: OAuthIssuer;
  /** Logs an event (names and codes, never a value). */
  readonly note?: (event: string, fields: Record<string, unknown>) => void;
  /** The audit log, where the `oauth` provider records consents. */
  readonly audit?: AuditSink;
  /** What the listener knows of its own URL (its publicUrl, TLS, or a unix socket): where the `oauth` issuer is. */
  readonly listener?: ListenerOrigin;
}

type Factories = { readonly [T in AuthProviderConfig['type']]: (entry: Extract<AuthProviderConfig, { type: T }>, context: ProviderContext) => ClientAuthProvider };

const factories: Factories = {
  bearer: (_entry, { access }) => bearerProvider(access),
  forwarded: (entry, { config, where }) => forwardedProvider(entry, () => config().roles, where),
  none: (entry) => noneProvider(entry),
  jwt: (entry, { config, where }) => jwtProvider(entry, () => config().roles, where),
  oauth: (entry, { access, oauth, note = () => {}, audit, listener = { tls: false, unix: true }, where }) => {
    if (!oauth) throw new McpdError('INTERNAL', `${where}: the oauth provider needs the daemon's authorization server`);
    return oauthProvider(entry, { issuer: oauth, access, note, audit, listener });
  },
};

/** The provider of one `auth` entry. */
export function createProvider(entry: AuthProviderConfig, context: ProviderContext): ClientAuthProvider {
  const factory = factories[entry.type] as (entry: AuthProviderConfig, context: ProviderContext) => ClientAuthProvider;
  return factory(entry, context);
}
