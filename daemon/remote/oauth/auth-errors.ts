/**
 * A sign-in's failures as the user should read them: which server, which step (discovery,
 * registration, token request), the authorization server's error code, and what to do. The
 * authorization server's own text is not quoted: it is not ours to print, and may echo input.
 */
import { McpdError } from '../../../core/errors.js';
import { networkError } from '../remote-errors.js';
import { tokenHint } from '../token-hints.js';

const HINTS: Record<string, (name: string) => string> = {
  registration: (name) => `the authorization server does not let mcpd register itself: register a client there and set oauth.clientId (and oauth.clientSecret) in mcpServers.${name}`,
  'token request': (name) => `run mcpd auth login ${name} to sign in again; if it keeps failing, check oauth.clientId and oauth.clientSecret in mcpServers.${name}`,
  discovery: (name) => `check mcpServers.${name}.url; the server's authorization metadata could not be read`,
};

/** What `error` (from the SDK's auth(), or from mcpd's own steps) means for the user. */
export function explainAuthError(error: unknown, name: string, step: string, url: string): McpdError {
  if (error instanceof McpdError) return error;
  const network = networkError(error, { name, url });
  if (network) return network;
  const hint = (HINTS[step] ?? HINTS['token request']!)(name);
  const code = error instanceof Error ? (error as { errorCode?: unknown }).errorCode : undefined;
  if (typeof code === 'string') {
    return new McpdError('OAUTH_FAILED', `server "${name}": the authorization server refused the ${step} (${code})`, { hint, cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new McpdError('OAUTH_FAILED', `server "${name}": signing in failed at the ${step}: ${message.slice(0, 200)}`, { hint, cause: error });
}

/** A server that answers 401 but publishes no OAuth metadata: it wants a token the user makes. */
export function tokenNeeded(name: string, url: string): McpdError {
  const where = tokenHint(url);
  return new McpdError('AUTH_TOKEN_NEEDED', `server "${name}": ${url} wants a token and offers no OAuth sign-in`, {
    hint: `run mcpd auth login ${name} to give mcpd the token (kept in the default store)${where ? `; ${where}` : ''}`,
  });
}
