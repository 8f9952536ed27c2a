/**
 * `forwarded`: the user and groups a trusted reverse proxy (oauth2-proxy, Caddy, nginx with
 * auth_request) sets in headers after signing the user in. Accepted only when the TCP peer is
 * one of `proxies`: from any other address the headers prove nothing and the request is refused.
 *
 *     "auth": [{ "type": "forwarded", "proxies": ["127.0.0.1", "10.0.0.0/8"],
 *                "userHeader": "X-Forwarded-User", "groupsHeader": "X-Forwarded-Groups",
 *                "groupRoles": { "eng": ["reader"] } }]
 *
 * Headers are judged as Node's HTTP parser delivered them (one character per byte): every line
 * of a header, never Node's merged value, which keeps only the first of some names.
 */
import type { IncomingMessage } from 'node:http';
import { McpdError } from '../../../core/errors.js';
import { own } from '../../../core/own.js';
import type { AuthProviderConfig, RoleConfig } from '../../config/schema.js';
import type { Principal } from '../scopes.js';
import type { ClientAuthProvider } from './provider.js';
import { normalisePeer, trustedProxies } from './proxies.js';

type ForwardedEntry = Extract<AuthProviderConfig, { type: 'forwarded' }>;

/** The longest user name taken, in bytes. */
export const MAX_USER_BYTES = 256;
// C0 and C1 controls and DEL (Unicode's Cc): a user name goes into logs, the audit log and status.
const CONTROL = /\p{Cc}/u;

/** Trims HTTP's optional whitespace (space and tab) only: any other character is part of the name. */
function trimOws(text: string): string {
  return text.replace(/^[ \t]+|[ \t]+$/g, '');
}

/** The groups of every `name` header line: comma-separated, trimmed, empty ones dropped. */
export function forwardedGroups(req: IncomingMessage, name: string): string[] {
  const lines = req.headersDistinct[name.toLowerCase()] ?? [];
  return lines.flatMap((line) => line.split(',')).map(trimOws).filter((group) => group !== '');
}

/** The provider of a `{ "type": "forwarded" }` entry; `where` names it in errors (`socket.listen[N].auth[M]`). */
export function forwardedProvider(entry: ForwardedEntry, roles: () => Readonly<Record<string, RoleConfig>>, where: string): ClientAuthProvider {
  const trusted = trustedProxies(entry.proxies);
  const userHeader = entry.userHeader.toLowerCase();
  return {
    type: 'forwarded',
    authenticate: ({ req }) => {
      const peer = normalisePeer(req.socket.remoteAddress);
      if (!trusted(peer)) {
        throw new McpdError('PROXY_UNTRUSTED', `${where} (forwarded) refused a request from ${peer ?? 'an unknown address'}: it is not one of the proxies whose ${entry.userHeader} header is trusted`, {
          hint: `connect through the reverse proxy, or add its address to ${where}.proxies`,
        });
      }
      const user = userOf(req.headersDistinct[userHeader], entry.userHeader, where);
      const groups = forwardedGroups(req, entry.groupsHeader);
      const principal: Principal = { kind: 'forwarded', subject: `user:${user}`, user, groups, roles: rolesOf(groups, entry.groupRoles, roles()) };
      return principal;
    },
    challenge: () => undefined,
  };
}

function userOf(lines: readonly string[] | undefined, header: string, where: string): string {
  const refuse = (what: string) => new McpdError('USER_INVALID', `${where} (forwarded): the proxy sent ${what}`, {
    hint: `have the reverse proxy sign the user in and set exactly one ${header} header with the user name`,
  });
  // Node has already trimmed each line's surrounding whitespace.
  const user = lines?.length === 1 ? lines[0]! : undefined;
  if (lines === undefined || user === '') throw refuse(`no ${header} header`);
  if (user === undefined) throw refuse(`${lines.length} ${header} headers, where one user is expected`);
  if (CONTROL.test(user)) throw refuse(`control characters in its ${header} header`);
  // Node decodes header bytes as latin1, one character each: the length is the byte count.
  if (user.length > MAX_USER_BYTES) throw refuse(`a user name of ${user.length} bytes in its ${header} header (at most ${MAX_USER_BYTES})`);
  return user;
}

/** A group's roles: its `groupRoles` entry, else the role of the same name when the config has one. */
function rolesOf(groups: readonly string[], groupRoles: Readonly<Record<string, readonly string[]>>, roles: Readonly<Record<string, RoleConfig>>): string[] {
  const found = new Set<string>();
  for (const group of groups) {
    const mapped = own(groupRoles, group);
    if (mapped) mapped.forEach((role) => found.add(role));
    else if (own(roles, group)) found.add(group);
  }
  return [...found];
}
