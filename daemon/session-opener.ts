/**
 * How every route opens a session (a WebSocket session, an HTTP gateway session, mcpd/client):
 * who may (launch rights, the subject's session limit), on which instance (a pooled one when one
 * is ready, never waited for, else one of the session's own), and what the session is tied to
 * (its gate, its rollover, the audit log, the expiry of its token).
 */
import { randomBytes } from 'node:crypto';
import { McpdError } from '../core/errors.js';
import { own } from '../core/own.js';
import type { AuditLog } from './audit/audit.js';
import type { LimitNotes } from './audit/limit-notes.js';
import type { ClientAccess } from './auth/access.js';
import type { ExpiryWatch } from './auth/expiry.js';
import { requireLaunch } from './auth/launch.js';
import type { SubjectLimits } from './auth/limits.js';
import { roleBook } from './auth/roles.js';
import type { Principal } from './auth/scopes.js';
import type { Config, ServerConfig } from './config/schema.js';
import type { Logger } from './log.js';
import type { LogBook } from './logbook.js';
import type { ClientLink } from './session/client-link.js';
import { Session } from './session/session.js';
import type { SessionTable } from './session-table.js';
import type { SessionWiring } from './session-wiring.js';
import type { WarmPools } from './warm-pools.js';

export interface SessionOpenerDeps {
  readonly config: () => Config;
  readonly configPath: string;
  /** True once the daemon stops: it takes no new sessions. */
  readonly stopping: () => boolean;
  readonly sessions: SessionTable;
  readonly limits: SubjectLimits;
  readonly limitNotes: LimitNotes;
  readonly wiring: SessionWiring;
  readonly pools: WarmPools;
  readonly audit: AuditLog;
  readonly logs: LogBook;
  readonly log: Logger;
  readonly access: ClientAccess;
  readonly expiry: ExpiryWatch;
}

/** Opens a session on server `name` for `principal`, its messages to and from `link`; rejects (McpdError) when refused or when the server cannot start. */
export async function openSession(deps: SessionOpenerDeps, name: string, link: ClientLink, client: string | undefined, principal: Principal): Promise<Session> {
  const { sessions, log } = deps;
  if (deps.stopping()) throw new McpdError('DAEMON_STOPPING', 'the daemon is stopping and takes no new sessions', { hint: 'run the command again: mcpd run starts a new daemon' });
  // Before the server is looked up: who may not launch it learns nothing of whether it exists.
  requireLaunch(principal, name, roleBook(deps.config()), deps.configPath);
  const server = serverNamed(deps.config(), name, deps.configPath);
  const limit = deps.limits.sessions(principal);
  try {
    sessions.admit(principal, limit, deps.configPath);
  } catch (error) {
    if (limit) deps.limitNotes.refused('session.limited', principal, name, limit);
    throw error;
  }
  const id = randomBytes(4).toString('hex');
  const note = (message: string) => log('session.note', { session: id, server: name, message });
  const prepare = () => deps.wiring.prepare(id, name, server, note, principal);
  const pooled = deps.pools.take(name, id);
  const instance = pooled ?? deps.wiring.instance(id, name, prepare);
  const roll = deps.wiring.roll(id, name, server, prepare);
  const gate = deps.wiring.gate(id, name, principal, link.countsRequests !== true);
  const audit = deps.audit.by(principal);
  const session = new Session({
    id, server: name, instance, link, client, gate, roll,
    log: (line) => deps.logs.add(name, id, line),
    note,
    onEnd: (failure, endedBy) => {
      if (!sessions.remove(id, failure)) return;
      gate.end();
      const reason = failure ?? endedBy;
      audit.record({ event: 'session.close', session: id, server: name, ...(reason ? { reason } : {}) });
      log('session.closed', { session: id, server: name, ...(failure ? { failed: failure } : {}) });
    },
  });
  sessions.add(session, principal);
  try {
    await session.start();
  } catch (error) {
    sessions.remove(id);
    log('session.refused', { server: name, code: error instanceof McpdError ? error.code : 'INTERNAL', error: error instanceof Error ? error.message : String(error) });
    throw error;
  }
  sessions.started(name);
  log('session.opened', { session: id, server: name, pid: instance.pid, client, ...(pooled ? { warm: true } : {}) });
  const expires = deps.access.expiresAt(principal);
  if (expires !== undefined) deps.expiry.watch(expires);
  audit.record({ event: 'session.open', session: id, server: name, client, token: principal.kind === 'token' ? principal.name : undefined, pid: instance.pid });
  return session;
}

/** Server `name` of `config`; SERVER_UNKNOWN, with the servers there are, when it has none. */
export function serverNamed(config: Config, name: string, configPath: string): ServerConfig {
  const server = own(config.mcpServers, name);
  if (!server) {
    const known = Object.keys(config.mcpServers).sort();
    throw new McpdError('SERVER_UNKNOWN', `no server named "${name}" in the daemon's config ${configPath}; known servers: ${known.length ? known.join(', ') : '(none)'}`, {
      hint: `add "${name}" under "mcpServers" in that file; the daemon picks up the edit`,
    });
  }
  return server;
}
