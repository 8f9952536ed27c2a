/**
 * The daemon's open sessions, each with who opened it (so a revoked token's sessions can be
 * found, and counted against daemon.maxSessionsPerToken), and for each server why its last
 * session failed, kept while no session of it runs.
 */
import { McpdError } from '../core/errors.js';
import type { Limit } from './auth/limits.js';
import { OWNER, type Principal } from './auth/scopes.js';
import type { Session } from './session/session.js';

export class SessionTable {
  readonly #sessions = new Map<string, Session>();
  readonly #principals = new Map<string, Principal>();
  readonly #failures = new Map<string, string>();

  get size(): number {
    return this.#sessions.size;
  }

  all(): Session[] {
    return [...this.#sessions.values()];
  }

  of(server: string): Session[] {
    return this.all().filter((s) => s.server === server);
  }

  /** Why `server`'s last session failed, while none of it runs. */
  failure(server: string): string | undefined {
    return this.#failures.get(server);
  }

  add(session: Session, principal: Principal): void {
    this.#sessions.set(session.id, session);
    this.#principals.set(session.id, principal);
  }

  /** Takes session `id` out, noting `failure` for its server; false when it was not in. */
  remove(id: string, failure?: string): boolean {
    const session = this.#sessions.get(id);
    if (!session) return false;
    this.#sessions.delete(id);
    this.#principals.delete(id);
    if (failure) this.#failures.set(session.server, failure);
    return true;
  }

  /**
   * Refuses (SESSION_LIMIT, HTTP 429) a subject's session beyond its `limit` of open ones
   * (SubjectLimits.sessions): each is a process with its leases. The owner has no cap: it can
   * start any process itself.
   */
  admit(principal: Principal, limit: Limit | undefined, configPath: string): void {
    if (principal.kind === 'owner' || limit === undefined) return;
    let held = 0;
    for (const p of this.#principals.values()) if (p.subject === principal.subject) held++;
    if (held < limit.max) return;
    const who = principal.kind === 'token' ? `client token "${principal.name}"` : principal.subject;
    throw new McpdError('SESSION_LIMIT', `${who} holds ${held} open sessions, the most ${limit.where} (${limit.max}) allows`, {
      hint: `close one of its sessions (mcpd sessions lists them), or raise ${limit.where} in ${configPath}`,
    });
  }

  /** Who opened session `id`. */
  principalOf(id: string): Principal | undefined {
    return this.#principals.get(id);
  }

  /** A session of `server` is running: an earlier failure no longer describes it. */
  started(server: string): void {
    this.#failures.delete(server);
  }

  /** The sessions whose opener `valid` no longer admits. */
  unwanted(valid: (principal: Principal) => boolean): Session[] {
    return this.all().filter((s) => !valid(this.#principals.get(s.id) ?? OWNER));
  }
}
