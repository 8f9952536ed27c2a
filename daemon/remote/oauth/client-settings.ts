/**
 * What a url server's config says of the OAuth client mcpd signs in as: a configured client
 * (`oauth.clientId`, its secret resolved from its reference at each sign-in, never kept),
 * private_key_jwt client authentication, and the one check mcpd adds to the SDK's flow.
 */
import type { AddClientAuthentication } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthSettings } from '../../config/schema.js';
import { McpdError } from '../../../core/errors.js';
import type { AuthRecord } from './auth-record.js';
import type { ConfiguredClient } from './client-provider.js';

type Sdk = typeof import('../sdk-transports.js');
type Resolve = (values: Record<string, string>) => Promise<Record<string, string>>;

/** The client `oauth.clientId` names, with its secret resolved; undefined when none is configured. */
export async function configuredClient(settings: OAuthSettings | undefined, resolve: Resolve): Promise<ConfiguredClient | undefined> {
  if (!settings?.clientId) return undefined;
  const { clientSecret } = settings.clientSecret === undefined ? { clientSecret: undefined } : await resolve({ clientSecret: settings.clientSecret });
  return {
    client_id: settings.clientId,
    ...(clientSecret ? { client_secret: clientSecret } : {}),
    ...(settings.tokenEndpointAuthMethod ? { token_endpoint_auth_method: settings.tokenEndpointAuthMethod } : {}),
  };
}

/** private_key_jwt (RFC 7523) with `oauth.privateKey`, through the SDK's auth extension; undefined without a key. */
export async function privateKeyJwt(sdk: Sdk, settings: OAuthSettings | undefined, client: ConfiguredClient | undefined, resolve: Resolve): Promise<AddClientAuthentication | undefined> {
  if (settings?.privateKey === undefined || !client) return undefined;
  const { privateKey } = await resolve({ privateKey: settings.privateKey });
  const key = privateKey!.trim().startsWith('{') ? (JSON.parse(privateKey!) as Record<string, unknown>) : privateKey!;
  return sdk.createPrivateKeyJwtAuth({ issuer: client.client_id, subject: client.client_id, privateKey: key, alg: settings.signingAlgorithm });
}

/** OAuth 2.1 and the MCP spec: no sign-in without PKCE S256, advertised. */
export function requirePkce(record: AuthRecord, name: string): void {
  const metadata = record.discovery?.authorizationServerMetadata;
  if (!metadata) {
    throw new McpdError('OAUTH_FAILED', `server "${name}": its authorization server ${record.discovery?.authorizationServerUrl ?? ''} publishes no metadata (RFC 8414 or OpenID discovery), so mcpd cannot tell whether it does PKCE`, {
      hint: 'give mcpd a token in a header instead ("headers": {"Authorization": "Bearer ${secret:…}"}), or ask the server\'s operator to publish authorization server metadata',
    });
  }
  const methods = metadata.code_challenge_methods_supported;
  if (methods?.includes('S256')) return;
  throw new McpdError('OAUTH_NO_PKCE', `server "${name}": its authorization server ${metadata.issuer} does not advertise PKCE with S256 (code_challenge_methods_supported: ${methods ? JSON.stringify(methods) : 'absent'}), so mcpd will not sign in there`, {
    hint: 'ask the server\'s operator to enable PKCE (S256), which OAuth 2.1 requires; or give mcpd a token in a header instead ("headers": {"Authorization": "Bearer ${secret:…}"})',
  });
}
