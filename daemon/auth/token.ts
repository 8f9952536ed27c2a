/**
 * Client tokens: 32 random bytes, base64url, with a `mcpd_` prefix so a leaked one is easy to
 * recognise and scan for. Only the SHA-256 is ever kept; a presented token is hashed and
 * compared with every stored hash in constant time, never short-circuiting on a match.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { McpdError } from '../../core/errors.js';

export const TOKEN_PREFIX = 'mcpd_';
/** Longer headers are refused before hashing: a refusal must stay cheap. */
const MAX_HEADER = 512;

/** A new token: what the user is shown once. */
export function newToken(random: (bytes: number) => Buffer = randomBytes): string {
  return `${TOKEN_PREFIX}${random(32).toString('base64url')}`;
}

export function sha256Hex(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The index of the hash equal to `presented` among `hashes` (hex), comparing every one in constant time. */
export function findHash(presented: string, hashes: readonly string[]): number {
  const mine = Buffer.from(presented, 'hex');
  let found = -1;
  hashes.forEach((hash, i) => {
    const theirs = Buffer.from(hash, 'hex');
    if (theirs.length === mine.length && timingSafeEqual(theirs, mine) && found === -1) found = i;
  });
  return found;
}

/**
 * The bearer token a request presents, or undefined when it presents none. Tokens are taken
 * from the Authorization header only: one in the URL is refused, since URLs end up in logs.
 * `maxHeader`: a JWT (the `jwt` provider) is longer than mcpd's own tokens.
 */
export function presentedToken(req: IncomingMessage, url: URL, maxHeader = MAX_HEADER): string | undefined {
  for (const [key, value] of url.searchParams) {
    if (/token|auth|key/i.test(key) || value.startsWith(TOKEN_PREFIX)) {
      throw invalid('a token was sent in the URL\'s query string; mcpd accepts tokens only in the Authorization header (URLs end up in logs)', 'send "Authorization: Bearer TOKEN" instead, and revoke that token: it may have been logged');
    }
  }
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  const match = header.length <= maxHeader ? /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header) : null;
  if (!match) throw invalid('the Authorization header is malformed: expected "Bearer TOKEN"', 'send exactly one header "Authorization: Bearer TOKEN" (mcpd token create prints a token)');
  return match[1];
}

export function invalid(message: string, hint: string): McpdError {
  return new McpdError('TOKEN_INVALID', message, { hint });
}
