/**
 * Who may open a session to a server (README "Roles"): the owner; a token holding `launch:NAME`,
 * `launch:*` or `admin`; or any subject one of whose roles grants something on the server. A
 * role's deny of the whole server refuses it whatever else it holds. Every route that opens a
 * session (the WebSocket route, the HTTP gateway) asks this one function, through
 * Daemon#openSession.
 */
import { McpdError } from '../../core/errors.js';
import type { RoleBook } from './roles.js';
import { type Principal, requireScope } from './scopes.js';

/** Refuses (SCOPE_MISSING, HTTP 403) a session of `server` that `principal` may not open; `configPath` names where roles are set. */
export function requireLaunch(principal: Principal, server: string, book: RoleBook, configPath: string): void {
  const rights = book.rightsOn(principal, server);
  if (rights === undefined || rights.mayLaunch) return;
  const who = principal.kind === 'token' ? `token "${principal.name}"` : principal.subject;
  const deny = rights.wholeDeny;
  if (deny !== undefined) {
    throw new McpdError('SCOPE_MISSING', `${who} may not open a session to "${server}": ${deny} denies that server whole`, {
      hint: `remove that deny from ${configPath}, or use a client that does not hold that role`,
    });
  }
  const roles = book.held(principal).map(([name]) => name);
  // Without roles, the refusal of a token is the one scopes always gave.
  if (roles.length === 0 && principal.kind === 'token') requireScope(principal, `launch:${server}`, `a session to "${server}"`);
  const held = roles.length ? `its roles (${roles.join(', ')}) grant nothing on it` : 'it holds no role';
  throw new McpdError('SCOPE_MISSING', `${who} may not open a session to "${server}": ${held}${principal.kind === 'token' ? `, and it lacks the scope launch:${server}` : ''}`, {
    hint: `add a grant on it to one of its roles in ${configPath} ("grants": [{"server": "${server}"}])${principal.kind === 'token' ? `, or give it the scope launch:${server}` : ''}`,
  });
}
