/**
 * Where a `jwt` provider's signing keys come from: its `jwksUri`, else the `jwks_uri` of the
 * issuer's RFC 8414 metadata, else of its OpenID Connect discovery document. Found once, at
 * the first request that needs them; jose's remote key set then caches the keys and fetches them
 * again when a token names a `kid` it lacks (the authorization server rotated its keys), at most
 * once per REFETCH_COOLDOWN_MS, so tokens with made-up kids cannot make mcpd hammer the server.
 */
import { McpdError } from '../../../core/errors.js';
import type { JWTVerifyGetKey } from './vendored-jose.js';

/** How long a failed discovery is remembered before a request tries again. */
const RETRY_AFTER_MS = 10_000;
/** The shortest time between two fetches of the key set for an unknown kid. */
export const REFETCH_COOLDOWN_MS = 5_000;
const TIMEOUT_MS = 5_000;

export interface KeySourceEntry {
  readonly issuer: string;
  readonly jwksUri?: string | undefined;
}

/** The JWKS's URLs to try for `issuer`, in order: RFC 8414's path-inserted form, then OpenID discovery's appended one. */
export function discoveryUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return [`${url.origin}/.well-known/oauth-authorization-server${path}`, `${url.origin}${path}/.well-known/openid-configuration`];
}

/** Whether `text` is a URL tokens' keys may come from: https, or http on loopback (as the config's issuer). */
function trustedUrl(text: unknown): text is string {
  if (typeof text !== 'string') return false;
  try {
    const url = new URL(text);
    return url.protocol === 'https:' || (url.protocol === 'http:' && ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname));
  } catch {
    return false;
  }
}

/** The key set of `entry`, found at first use; `where` names the provider's entry in errors. */
export function keySource(entry: KeySourceEntry, where: string): () => Promise<JWTVerifyGetKey> {
  let keys: Promise<JWTVerifyGetKey> | undefined;
  let failedAt = 0;
  return () => {
    if (keys === undefined && Date.now() - failedAt >= RETRY_AFTER_MS) {
      keys = find(entry, where);
      keys.catch(() => {
        failedAt = Date.now();
        keys = undefined;
      });
    }
    return keys ?? Promise.reject(unreachable(where, entry.issuer, `its metadata did not answer less than ${RETRY_AFTER_MS / 1000} s ago`));
  };
}

async function find(entry: KeySourceEntry, where: string): Promise<JWTVerifyGetKey> {
  const { createRemoteJWKSet } = await import('./vendored-jose.js');
  const jwksUri = entry.jwksUri ?? await discover(entry.issuer, where);
  return createRemoteJWKSet(new URL(jwksUri), { cooldownDuration: REFETCH_COOLDOWN_MS, timeoutDuration: TIMEOUT_MS });
}

/** The `jwks_uri` of the issuer's metadata, whose `issuer` must be the one configured (RFC 8414 §3.3). */
async function discover(issuer: string, where: string): Promise<string> {
  const problems: string[] = [];
  for (const url of discoveryUrls(issuer)) {
    let metadata: unknown;
    try {
      const response = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(TIMEOUT_MS), headers: { accept: 'application/json' } });
      if (!response.ok) {
        problems.push(`${url} answered ${response.status}`);
        continue;
      }
      metadata = await response.json();
    } catch (error) {
      problems.push(`${url}: ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    const { issuer: named, jwks_uri: jwksUri } = (metadata ?? {}) as { issuer?: unknown; jwks_uri?: unknown };
    if (named !== issuer) throw unreachable(where, issuer, `${url} names the issuer ${JSON.stringify(named)?.slice(0, 100)}, not this one`);
    if (!trustedUrl(jwksUri)) throw unreachable(where, issuer, `${url} names no https jwks_uri`);
    return jwksUri;
  }
  throw unreachable(where, issuer, problems.join('; '));
}

function unreachable(where: string, issuer: string, why: string): McpdError {
  return new McpdError('ISSUER_UNREACHABLE', `${where} (jwt) cannot find the signing keys of ${issuer}: ${why}`, {
    hint: `check that the authorization server answers, or set ${where}.jwksUri to its JWKS`,
  });
}
