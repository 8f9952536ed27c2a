/**
 * A remote server behind a session, in the place a supervised process takes (ServerInstance):
 *
 *   stopped ──start──▶ starting ──headers resolved──▶ running ──restart──▶ restarting ──▶ starting
 *                         │                             │ the first message cannot be delivered
 *                         └──(references fail: the session is refused)   ▼
 *   any state ──stop──▶ stopped                                       failed (the session ends)
 *
 * Nothing is spawned: "running" means the headers are resolved and a connection will be made by
 * the first message (the client's initialize), whose failure (unreachable, TLS, not MCP, 401)
 * ends the session with its McpdError on the client's stderr and its exit code. A restart or a
 * roll opens a new remote session, and the session replays the client's handshake to it.
 *
 * A server that ends its session (a 404 to a request carrying the session id: session-loss.ts)
 * gets a new one the same way, still running: a new link, the handshake replayed, then what the
 * 404 refused sent again, so the client sees its answers as if nothing happened. The old link's
 * other sends settle first (a 404 among them is sent again too), then it closes. A server that
 * refuses the new session's initialize, or ends more sessions than REOPEN_LIMIT allows, fails
 * the session with REMOTE_FAILED.
 */
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Clock } from '../../core/clock.js';
import { McpdError } from '../../core/errors.js';
import { exitCodeFor } from '../../core/exit-codes.js';
import type { InstanceStatus, ServerState } from '../protocol.js';
import { errorResponse } from '../session/client-message.js';
import type { InstanceListener, KeepLeases } from '../supervisor/instance.js';
import { prepareStart, type ServerInstance } from '../supervisor/server-instance.js';
import type { PreparedRemote } from './prepare-remote.js';
import { httpStatusOf } from './remote-errors.js';
import { type LinkEvents, RemoteLink } from './remote-link.js';
import { keepsEndingSessions, ReopenBudget, sessionLost } from './session-loss.js';

export interface RemoteInstanceDeps {
  readonly session: string;
  readonly prepare: () => Promise<PreparedRemote>;
  readonly keepLeases: KeepLeases;
  readonly clock: Clock;
  readonly maxMessageBytes: number;
  /** Makes the connection for a start (tests give it their own fetch). */
  readonly link?: (spec: PreparedRemote, events: LinkEvents) => RemoteLink;
  /** The daemon log, told when the server ended a session (names only: the wiring adds session and server). */
  readonly log?: (event: 'remote.session_lost', fields: { reopened: boolean }) => void;
}

/** Messages sent and not yet delivered beyond which the session stops reading its client. */
const HIGH_WATER = 256;

export class RemoteInstance implements ServerInstance {
  #state: ServerState = 'stopped';
  #link: RemoteLink | undefined;
  #spec: PreparedRemote | undefined;
  #leases: ReturnType<KeepLeases> | undefined;
  #listener: InstanceListener | undefined;
  /** Bumped for every connection, so a late event from an old one is ignored. */
  #generation = 0;
  #startedAt: number | undefined;
  #restarts = 0;
  #lastError: string | undefined;
  /** Sends under way; above HIGH_WATER the client waits for drain(). */
  #sending = 0;
  #full = false;
  /** Server messages held while the client reads slowly (pauseOutput). */
  #held: Buffer[] | undefined;
  /** Links whose session the server ended, until their last send settles and they close. */
  readonly #retired = new Set<RemoteLink>();
  /** Links the server answered 404 to their session id (a request or the SDK's event stream): their warnings are that same end. */
  readonly #ended = new WeakSet<RemoteLink>();
  /** Sends not settled yet, per link. */
  readonly #pendingOn = new Map<RemoteLink, number>();
  /** The link opened for an ended session, and the messages sent again on it: all refused if its initialize is. */
  #reopened: { link: RemoteLink; resent: JSONRPCMessage[] } | undefined;
  readonly #budget: ReopenBudget;
  readonly #deps: RemoteInstanceDeps;

  constructor(deps: RemoteInstanceDeps) {
    this.#deps = deps;
    this.#budget = new ReopenBudget(deps.clock);
  }

  get state(): ServerState {
    return this.#state;
  }

  get pid(): undefined {
    return undefined;
  }

  get launch(): PreparedRemote | undefined {
    return this.#state === 'running' ? this.#spec : undefined;
  }

  status(): InstanceStatus {
    const running = this.#state === 'running';
    const since = running && this.#startedAt !== undefined ? new Date(this.#startedAt).toISOString() : undefined;
    return { session: this.#deps.session, state: this.#state, pid: undefined, since, restarts: this.#restarts, lastError: this.#lastError, leases: running ? this.#leases?.status() ?? [] : [] };
  }

  async start(listener: InstanceListener): Promise<void> {
    this.#listener = listener;
    this.#state = 'starting';
    try {
      await this.#open(false);
    } catch (error) {
      if (this.#state === 'starting') this.#state = 'failed';
      throw error;
    }
  }

  write(line: Buffer | string): boolean {
    const link = this.#link;
    if (this.#state !== 'running' || !link) return true;
    // The session has parsed and judged these very bytes; the SDK sends what they parse to.
    const message = JSON.parse(typeof line === 'string' ? line : line.toString('utf8')) as JSONRPCMessage;
    this.#send(link, message);
    return !this.#full;
  }

  pauseOutput(): void {
    this.#held ??= [];
  }

  resumeOutput(): void {
    const held = this.#held;
    this.#held = undefined;
    for (const line of held ?? []) this.#listener?.message(line);
  }

  async restart(reason: string): Promise<void> {
    if (this.#state !== 'running') return;
    this.#lastError = reason;
    this.#state = 'restarting';
    await this.#close();
    if (this.#state !== 'restarting') return;
    this.#restarts += 1;
    this.#state = 'starting';
    await this.#open(true).catch((error: unknown) => {
      if (this.#state === 'starting') this.#fail(error instanceof McpdError ? error : new McpdError('REMOTE_FAILED', String(error)));
    });
  }

  async stop(): Promise<void> {
    this.#state = 'stopped';
    await this.#close();
  }

  async #open(restart: boolean): Promise<void> {
    const generation = ++this.#generation;
    const current = () => generation === this.#generation;
    const started = await prepareStart(this.#deps, current, (reason) => this.#state === 'running' && this.#listener?.expiring(reason));
    if (!started) return;
    const { spec, leases } = started;
    this.#link = this.#newLink(spec);
    this.#spec = spec;
    this.#leases = leases;
    this.#startedAt = this.#deps.clock.now();
    this.#state = 'running';
    this.#listener?.started(restart);
  }

  /**
   * A link to `spec` heard while this connection lasts. Once the server ended its session, its
   * warnings (the 404s, the SDK's failed reconnections of its event stream) say nothing more:
   * the next send opens a new session, and says so.
   */
  #newLink(spec: PreparedRemote): RemoteLink {
    const generation = this.#generation;
    const current = () => generation === this.#generation;
    const events: LinkEvents = {
      message: (message) => current() && this.#fromServer(Buffer.from(JSON.stringify(message))),
      warning: (error) => {
        if (!current()) return;
        if (sessionLost(error, link)) this.#ended.add(link);
        if (!this.#ended.has(link)) this.#listener?.stderr(`mcpd: ${error.message}`);
      },
    };
    const link = (this.#deps.link ?? ((s, e) => new RemoteLink(s, e)))(spec, events);
    return link;
  }

  #send(link: RemoteLink, message: JSONRPCMessage): void {
    const generation = this.#generation;
    this.#sending += 1;
    this.#pendingOn.set(link, (this.#pendingOn.get(link) ?? 0) + 1);
    link.send(message).then(
      () => this.#sent(generation, link),
      (error: unknown) => {
        // Judged before #sent, which closes a retired link once its last send settled.
        this.#undelivered(message, error, generation, link);
        this.#sent(generation, link);
      },
    );
    if (this.#sending >= HIGH_WATER) this.#full = true;
  }

  #fromServer(line: Buffer): void {
    if (line.length > this.#deps.maxMessageBytes) {
      this.#fail(new McpdError('REMOTE_FAILED', `the server sent a message of ${line.length} bytes (the limit is daemon.maxMessageBytes)`));
      return;
    }
    if (this.#held) this.#held.push(line);
    else this.#listener?.message(line);
  }

  #sent(generation: number, link: RemoteLink): void {
    const left = (this.#pendingOn.get(link) ?? 1) - 1;
    if (left > 0) this.#pendingOn.set(link, left);
    else if (this.#pendingOn.delete(link) && this.#retired.delete(link)) void link.close();
    if (generation !== this.#generation) return;
    this.#sending -= 1;
    if (this.#full && this.#sending < HIGH_WATER / 2) {
      this.#full = false;
      this.#listener?.drain();
    }
  }

  /**
   * A message the server did not take (on `link`): a request is answered with the error, so the
   * client never waits on silence. The first message of a connection failing means there is no
   * connection at all: the session ends, with the error on the client's stderr. A message the
   * server refused because it ended the session goes to a new one.
   */
  #undelivered(message: JSONRPCMessage, error: unknown, generation: number, link: RemoteLink): void {
    if (generation !== this.#generation || this.#state !== 'running') return;
    const problem = error instanceof McpdError ? error : new McpdError('REMOTE_FAILED', String(error));
    const reopened = this.#reopened;
    if (reopened?.link === link && !link.connected) return this.#giveUp(this.#refusedAtOnce(problem), reopened.resent);
    if (sessionLost(problem, link) && (link === this.#link || this.#retired.has(link))) return this.#resend(message, link);
    if ('method' in message && 'id' in message) this.#listener?.message(Buffer.from(errorResponse(message.id, -32000, problem.format())));
    if (link === this.#link && !link.connected) this.#fail(problem);
    else this.#listener?.stderr(`mcpd: ${problem.message}`);
  }

  /** Sends `message`, refused by `from`'s ended session, to a new session (opened now if `from` is the current link). */
  #resend(message: JSONRPCMessage, from: RemoteLink): void {
    if (from === this.#link && !this.#reopen(from, message)) return;
    // An answer to a request of the ended session has no one to take it; the replayed handshake has its initialized.
    if (!('method' in message) || message.method === 'notifications/initialized') return;
    const link = this.#link!;
    if (this.#reopened?.link === link) this.#reopened.resent.push(message);
    this.#send(link, message);
  }

  /** The server ended `old`'s session: a new link, to which the session replays the client's handshake; false when mcpd gave up instead. */
  #reopen(old: RemoteLink, lost: JSONRPCMessage): boolean {
    const spec = this.#spec!;
    const reopen = this.#budget.take();
    this.#deps.log?.('remote.session_lost', { reopened: reopen });
    if (!reopen) {
      this.#giveUp(keepsEndingSessions(spec, 'too-often'), [lost]);
      return false;
    }
    this.#lastError = 'the server ended its session (404 to its session id); mcpd opened a new one';
    this.#listener?.stderr(`mcpd: server "${spec.name}" ended its session (404 to its session id); opening a new one and sending the client's handshake and the refused messages again`);
    // Its other sends settle first (a 404 among them comes here too), then it closes (#sent).
    this.#retired.add(old);
    this.#ended.add(old);
    this.#link = this.#newLink(spec);
    this.#reopened = { link: this.#link, resent: [] };
    this.#listener?.started(true);
    return true;
  }

  /** Why the new session's first message failed: a 404 (or, after the SDK's SSE fallback, "not MCP") means the server ends sessions at once. */
  #refusedAtOnce(problem: McpdError): McpdError {
    if (httpStatusOf(problem) === 404 || problem.code === 'REMOTE_NOT_MCP') return keepsEndingSessions(this.#spec!, 'at-once');
    return problem;
  }

  /** Ends the session with `problem`, each request among `lost` answered with it first. */
  #giveUp(problem: McpdError, lost: readonly JSONRPCMessage[]): void {
    for (const message of lost) if ('method' in message && 'id' in message) this.#listener?.message(Buffer.from(errorResponse(message.id, -32000, problem.format())));
    this.#fail(problem);
  }

  #fail(problem: McpdError): void {
    this.#lastError = problem.message;
    this.#state = 'failed';
    this.#generation += 1;
    void this.#close();
    this.#listener?.stderr(`mcpd: ${problem.format()}`);
    const exitCode = exitCodeFor(problem.code);
    this.#listener?.failed(`${problem.code}: see mcpd's message above`, { code: exitCode, signal: null, exitCode });
  }

  async #close(): Promise<void> {
    this.#generation += 1;
    const link = this.#link;
    const leases = this.#leases;
    const retired = [...this.#retired];
    this.#link = undefined;
    this.#leases = undefined;
    this.#reopened = undefined;
    this.#retired.clear();
    this.#pendingOn.clear();
    this.#sending = 0;
    this.#full = false;
    await Promise.all([link?.close(), ...retired.map((r) => r.close())]);
    await leases?.revokeAll();
  }
}
