/**
 * The `scope` claim of an access token (RFC 9068 §2.2.3, RFC 8693 §4.2): scope tokens separated
 * by single spaces (RFC 6749 §3.3), read exactly as the authorization server wrote them: only a
 * whole token is a scope, never a prefix, a part, or a token joined by another whitespace.
 */

/** The scope tokens of a `scope` claim; none when it is absent or not a string. */
export function scopeTokens(claim: unknown): string[] {
  return typeof claim === 'string' ? claim.split(' ').filter((token) => token !== '') : [];
}

/** The scopes of `needed` that `claim` does not hold, in `needed`'s order. */
export function missingScopes(claim: unknown, needed: readonly string[]): string[] {
  const held = new Set(scopeTokens(claim));
  return needed.filter((scope) => !held.has(scope));
}
