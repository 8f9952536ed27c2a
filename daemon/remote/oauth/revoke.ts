/**
 * RFC 7009 token revocation, for `mcpd auth logout`: the refresh token first (revoking it
 * ends the grant on most servers), then the access token, each a form POST to the
 * authorization server's `revocation_endpoint`, authenticated as the token request is.
 * The SDK's client has no revocation call; the request is small enough to make here.
 */
import type { AuthRecord } from './auth-record.js';
import type { FetchLike } from '../origin-fetch.js';

/** True when the authorization server accepted at least one revocation; false when it offers none. */
export async function revokeTokens(record: AuthRecord, fetchFn: FetchLike, configured: { client_id: string; client_secret?: string } | undefined): Promise<boolean> {
  // OpenID metadata has no revocation_endpoint in the SDK's type; RFC 8414 metadata does.
  const endpoint = (record.discovery?.authorizationServerMetadata as { revocation_endpoint?: string } | undefined)?.revocation_endpoint;
  const client = configured ?? record.client;
  const tokens = record.tokens;
  if (!endpoint || !client || !tokens) return false;
  const secret = 'client_secret' in client ? client.client_secret : undefined;
  let accepted = false;
  const pairs: Array<[string, string | undefined]> = [['refresh_token', tokens.refresh_token], ['access_token', tokens.access_token]];
  for (const [hint, token] of pairs) {
    if (!token) continue;
    const body = new URLSearchParams({ token, token_type_hint: hint });
    const headers = new Headers({ 'content-type': 'application/x-www-form-urlencoded' });
    if (secret) headers.set('authorization', `Basic ${Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(secret)}`).toString('base64')}`);
    else body.set('client_id', client.client_id);
    const response = await fetchFn(endpoint, { method: 'POST', headers, body });
    await response.body?.cancel();
    accepted ||= response.ok;
  }
  return accepted;
}
