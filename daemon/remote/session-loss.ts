/**
 * A remote server that ends its session (a restart, an expiry). The MCP spec's Streamable HTTP
 * transport has the server answer 404 to a request carrying a session id it no longer knows,
 * and the client start a new session with a new initialize. Here: what counts as such a loss,
 * how often mcpd opens a new session before it gives up, and the error it gives up with.
 */
import type { Clock } from '../../core/clock.js';
import { McpdError } from '../../core/errors.js';
import { httpStatusOf, type RemoteSubject } from './remote-errors.js';
import type { RemoteLink } from './remote-link.js';

/** New sessions mcpd opens within a window before it decides the server keeps ending them. */
export const REOPEN_LIMIT = { count: 3, windowMs: 60_000 } as const;

/** Whether `error`, from a send on `link`, means the server ended the session: a 404 to a request that carried its id. */
export function sessionLost(error: unknown, link: Pick<RemoteLink, 'sessionId'>): boolean {
  // Without a session id a 404 is the endpoint missing, not a session ended.
  return link.sessionId !== undefined && httpStatusOf(error) === 404;
}

/** Counts the new sessions opened, so a server that ends every session is not asked forever. */
export class ReopenBudget {
  readonly #clock: Clock;
  readonly #limit: { readonly count: number; readonly windowMs: number };
  #opened: number[] = [];

  constructor(clock: Clock, limit: { readonly count: number; readonly windowMs: number } = REOPEN_LIMIT) {
    this.#clock = clock;
    this.#limit = limit;
  }

  /** Takes one new session; false when `count` were opened within the last window already. */
  take(): boolean {
    const now = this.#clock.now();
    this.#opened = this.#opened.filter((at) => now - at < this.#limit.windowMs);
    if (this.#opened.length >= this.#limit.count) return false;
    this.#opened.push(now);
    return true;
  }
}

/** The error a session ends with when the server ends the sessions mcpd opens as fast as it opens them; `why` says which way. */
export function keepsEndingSessions(subject: RemoteSubject, why: 'at-once' | 'too-often'): McpdError {
  const what = why === 'at-once'
    ? 'it answered 404 to the new session\'s initialize right after ending the previous session'
    : `it ended ${REOPEN_LIMIT.count + 1} sessions within ${REOPEN_LIMIT.windowMs / 1000} s (mcpd opens a new one at most ${REOPEN_LIMIT.count} times a minute)`;
  return new McpdError('REMOTE_FAILED', `server "${subject.name}": ${subject.url} keeps ending its sessions: ${what}`, {
    hint: `the server may be restarting in a loop or expiring sessions at once: check its logs or status page (mcpd logs ${subject.name} has mcpd's side), then run the host app's session again`,
  });
}

/** What the client's stderr and the server's log are told when mcpd opens a new session for an ended one. */
export function reopenNote(subject: Pick<RemoteSubject, 'name'>): string {
  return `server "${subject.name}" ended its session (404 to its session id); opening a new one and sending the client's handshake and the refused messages again`;
}
