/**
 * What a client token may do (README "The daemon"): `launch:NAME` or `launch:*` to
 * open sessions, `status:read`, `logs:read`, `rotate`, and `admin`, which includes every other.
 * A connection on the owner-only socket without a token is the owner: it may do everything.
 */
import { McpdError } from '../../core/errors.js';

export const FIXED_SCOPES = ['status:read', 'logs:read', 'rotate', 'admin'] as const;
const SERVER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * Who a request is, as the listener's chain of client authentication providers found
 * (daemon/auth/providers/): `subject` names it in the audit log, status and errors
 * (`owner`, `token:NAME`, `user:NAME`, `jwt:SUB@ISSUER`, `anonymous`); `roles` are the names of the config's
 * `roles` it holds (daemon/auth/roles.ts). Only the owner and tokens hold scopes.
 */
export type Principal =
  | { readonly kind: 'owner'; readonly subject: 'owner'; readonly roles: readonly string[] }
  /** A client token (`state`, `config`) or an access token of mcpd's authorization server (`oauth`, named `oauth:ID`). */
  | { readonly kind: 'token'; readonly subject: string; readonly name: string; readonly source: 'state' | 'config' | 'oauth'; readonly scopes: readonly string[]; readonly roles: readonly string[] }
  /** A user a trusted reverse proxy vouched for (the `forwarded` provider). */
  | { readonly kind: 'forwarded'; readonly subject: string; readonly user: string; readonly groups: readonly string[]; readonly roles: readonly string[] }
  /**
   * The bearer of an authorization server's JWT (the `jwt` provider); `issuer` is its `iss`;
   * `expiresAt` (ms since the epoch) is when the provider stops taking the token (`exp` plus its
   * leeway), absent where each request presents a token of its own (an HTTP gateway session).
   */
  | { readonly kind: 'jwt'; readonly subject: string; readonly issuer: string; readonly roles: readonly string[]; readonly expiresAt?: number }
  /** No credentials, on a loopback listener whose chain has `none`. */
  | { readonly kind: 'anonymous'; readonly subject: 'anonymous'; readonly roles: readonly string[] };

export const OWNER: Principal = { kind: 'owner', subject: 'owner', roles: [] };

/** Why `text` is not a scope, or undefined when it is one. */
export function scopeProblem(text: string): string | undefined {
  if ((FIXED_SCOPES as readonly string[]).includes(text)) return undefined;
  if (text.startsWith('launch:')) {
    const server = text.slice('launch:'.length);
    if (server === '*' || SERVER_NAME.test(server)) return undefined;
    return `"${text}" names no server: expected launch:NAME or launch:*`;
  }
  return `unknown scope "${text}"; known scopes: launch:NAME, launch:*, ${FIXED_SCOPES.join(', ')}`;
}

/** Whether `principal` holds `needed`; admin holds everything, launch:* every launch. */
export function holds(principal: Principal, needed: string): boolean {
  if (principal.kind === 'owner') return true;
  if (principal.kind !== 'token') return false;
  return principal.scopes.some((scope) => scope === needed || scope === 'admin' || (scope === 'launch:*' && needed.startsWith('launch:')));
}

/** Refuses (SCOPE_MISSING, HTTP 403) unless `principal` holds `needed`; `what` names the request. */
export function requireScope(principal: Principal, needed: string, what: string): void {
  if (holds(principal, needed)) return;
  const name = principal.kind === 'token' ? `token "${principal.name}"` : principal.subject;
  throw new McpdError('SCOPE_MISSING', `${name} lacks the scope ${needed} needed for ${what}`, {
    hint: `create a token with --scope ${needed} (mcpd token create NAME --scope ${needed}), or ask the owner to`,
  });
}
