/**
 * A remote session kept going when the server ends it, for the daemon (remote-instance.ts) and
 * `mcpd run --no-daemon` (cli/commands/run-remote.ts) alike. Messages go over the current
 * RemoteLink. One the server refuses with a 404 to the session id (session-loss.ts) makes a new
 * link current, the caller sends the client's handshake to it (`reopened`), and the refused
 * message is sent again on it, so the caller's send resolves as if nothing had happened. The old
 * link's other sends settle first (a 404 among them is sent again too), then it closes; its
 * warnings, the same ended session told again, are dropped.
 *
 * A server that refuses the new session's initialize, or ends more sessions than REOPEN_LIMIT
 * allows, fails the sends with REMOTE_FAILED, and `ends()` tells the caller to end its session.
 */
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Clock } from '../../core/clock.js';
import { McpdError } from '../../core/errors.js';
import type { PreparedRemote } from './prepare-remote.js';
import { httpStatusOf } from './remote-errors.js';
import { type LinkEvents, RemoteLink } from './remote-link.js';
import type { TokenSource } from './token-source.js';
import { keepsEndingSessions, ReopenBudget, sessionLost } from './session-loss.js';

export interface KeptSessionEvents extends LinkEvents {
  /** The server ended the session and a new link is current: send the client's handshake now, before anything else. */
  reopened(): void;
  /** The server ended a session; `reopened` is false when mcpd gave up instead of opening a new one. */
  lost(reopened: boolean): void;
}

/** Makes the link for a connection (tests give it their own fetch). */
export type MakeLink = (spec: PreparedRemote, events: LinkEvents, source: TokenSource) => RemoteLink;

export class KeptSession {
  readonly #spec: PreparedRemote;
  readonly #events: KeptSessionEvents;
  readonly #makeLink: MakeLink;
  /** Where every link's credentials come from: a new session after a loss signs in no differently. */
  readonly #source: TokenSource;
  readonly #budget: ReopenBudget;
  #link: RemoteLink;
  /** The last link opened for an ended session: if its first message fails, the server refused the new session at once. */
  #reopened: RemoteLink | undefined;
  /** Links whose session ended, until their last send settles and they close. */
  readonly #retired = new Set<RemoteLink>();
  /** Links the server answered 404 to their session id (a send, or the SDK's event stream). */
  readonly #ended = new WeakSet<RemoteLink>();
  /** Sends not settled yet, per link. */
  readonly #pendingOn = new Map<RemoteLink, number>();
  #gaveUp: McpdError | undefined;

  constructor(spec: PreparedRemote, clock: Clock, events: KeptSessionEvents, source: TokenSource, makeLink: MakeLink = (s, e, t) => new RemoteLink(s, e, t)) {
    this.#source = source;
    this.#spec = spec;
    this.#events = events;
    this.#makeLink = makeLink;
    this.#budget = new ReopenBudget(clock);
    this.#link = this.#newLink();
  }

  /** Whether the current link's first message went through: there is a remote session. */
  get connected(): boolean {
    return this.#link.connected;
  }

  /** Whether `problem`, from send(), ends the caller's session: there is no connection at all, or mcpd gave up opening new ones. */
  ends(problem: McpdError): boolean {
    return !this.#link.connected || problem === this.#gaveUp;
  }

  /** Sends `message`; resolves once the server took it, on a new session if the server ended this one. Rejects with an McpdError naming the server. */
  async send(message: JSONRPCMessage): Promise<void> {
    const link = this.#link;
    this.#count(link, 1);
    try {
      await link.send(message);
    } catch (error) {
      const problem = error instanceof McpdError ? error : new McpdError('REMOTE_FAILED', String(error));
      if (link === this.#reopened && !link.connected) throw this.#refusedAtOnce(problem);
      if (!sessionLost(problem, link) || !(link === this.#link || this.#retired.has(link))) throw problem;
      if (link === this.#link) this.#reopen(link);
      // An answer to a request of the ended session has no one to take it; the replayed handshake has its own initialized.
      if (!('method' in message) || message.method === 'notifications/initialized') return;
      return this.send(message);
    } finally {
      this.#count(link, -1);
    }
  }

  /** Ends the session: the server is told (DELETE) and every link closes. */
  async close(): Promise<void> {
    const links = [this.#link, ...this.#retired];
    this.#retired.clear();
    await Promise.all(links.map((link) => link.close()));
  }

  /** The server ended `old`'s session: a new link is current, and the caller sends the handshake to it; throws when mcpd gives up. */
  #reopen(old: RemoteLink): void {
    if (this.#gaveUp) throw this.#gaveUp;
    const reopen = this.#budget.take();
    this.#events.lost(reopen);
    if (!reopen) throw (this.#gaveUp = keepsEndingSessions(this.#spec, 'too-often'));
    this.#retired.add(old);
    this.#ended.add(old);
    this.#link = this.#reopened = this.#newLink();
    this.#events.reopened();
  }

  /** Why the new session's first message failed: a 404 (or, after the SDK's SSE fallback, "not MCP") means the server ends sessions at once. */
  #refusedAtOnce(problem: McpdError): McpdError {
    return httpStatusOf(problem) === 404 || problem.code === 'REMOTE_NOT_MCP' ? keepsEndingSessions(this.#spec, 'at-once') : problem;
  }

  #newLink(): RemoteLink {
    const link: RemoteLink = this.#makeLink(this.#spec, {
      message: (message) => this.#events.message(message),
      warning: (error) => {
        // Once the server ended the session, its link's warnings (the 404s, the SDK's failed reconnections) are that same end.
        if (sessionLost(error, link)) this.#ended.add(link);
        if (!this.#ended.has(link)) this.#events.warning(error);
      },
    }, this.#source);
    return link;
  }

  #count(link: RemoteLink, by: 1 | -1): void {
    const left = (this.#pendingOn.get(link) ?? 0) + by;
    if (left > 0) this.#pendingOn.set(link, left);
    else if (this.#pendingOn.delete(link) && this.#retired.delete(link)) void link.close();
  }
}
