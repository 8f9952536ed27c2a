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
 * A server that ends its session (a 404 to the session id) gets a new one the same way while the
 * instance stays running (kept-session.ts): the session replays the handshake (`started(true)`),
 * then what the 404 refused is sent again, and the client sees its answers as if nothing happened.
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
import type { ServerAuth } from './oauth/server-auth.js';
import { staticHeaders, withSignIn } from './token-source.js';
import { KeptSession, type MakeLink } from './kept-session.js';
import { reopenNote } from './session-loss.js';

export interface RemoteInstanceDeps {
  readonly session: string;
  readonly prepare: () => Promise<PreparedRemote>;
  readonly keepLeases: KeepLeases;
  readonly clock: Clock;
  readonly maxMessageBytes: number;
  /** The server's sign-in, for a server mcpd signs in to (signsIn()); undefined otherwise. */
  readonly signIn?: (spec: PreparedRemote) => ServerAuth | undefined;
  /** Makes the connection for a start (tests give it their own fetch). */
  readonly link?: MakeLink;
  /** The daemon log, told when the server ended a session (names only: the wiring adds session and server). */
  readonly log?: (event: 'remote.session_lost', fields: { reopened: boolean }) => void;
}

/** Messages sent and not yet delivered beyond which the session stops reading its client. */
const HIGH_WATER = 256;

export class RemoteInstance implements ServerInstance {
  #state: ServerState = 'stopped';
  #link: KeptSession | undefined;
  /** Takes this session off its server's sign-in openers. */
  #detach: (() => void) | undefined;
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
  /** Messages whose send has not settled yet. */
  readonly #unsettled = new Set<JSONRPCMessage>();
  /** Server messages held while the client reads slowly (pauseOutput). */
  #held: Buffer[] | undefined;
  readonly #deps: RemoteInstanceDeps;

  constructor(deps: RemoteInstanceDeps) {
    this.#deps = deps;
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
    const generation = this.#generation;
    this.#sending += 1;
    this.#unsettled.add(message);
    link.send(message).then(
      () => this.#sent(generation, message),
      (error: unknown) => {
        this.#sent(generation, message);
        this.#undelivered(message, error, generation);
      },
    );
    if (this.#sending >= HIGH_WATER) this.#full = true;
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
    const signIn = this.#deps.signIn?.(spec);
    // This session's client is one that can show the user a sign-in (mcpd run opens the browser).
    this.#detach = signIn?.attach({
      login: false,
      open: (notice) => current() && (this.#listener?.notice?.(notice) ?? false),
      say: (line) => current() && this.#listener?.stderr(line),
    });
    const source = signIn ? withSignIn(spec.headers, signIn) : staticHeaders(spec.headers);
    this.#link = new KeptSession(spec, this.#deps.clock, {
      message: (message) => current() && this.#fromServer(Buffer.from(JSON.stringify(message))),
      warning: (error) => current() && this.#listener?.stderr(`mcpd: ${error.message}`),
      lost: (reopened) => current() && this.#deps.log?.('remote.session_lost', { reopened }),
      reopened: () => {
        if (!current()) return;
        this.#lastError = 'the server ended its session; mcpd opened a new one';
        this.#listener?.stderr(`mcpd: ${reopenNote(spec)}`);
        this.#listener?.started(true);
      },
    }, source, this.#deps.link);
    this.#spec = spec;
    this.#leases = leases;
    this.#startedAt = this.#deps.clock.now();
    this.#state = 'running';
    this.#listener?.started(restart);
  }

  #fromServer(line: Buffer): void {
    if (line.length > this.#deps.maxMessageBytes) {
      this.#fail(new McpdError('REMOTE_FAILED', `the server sent a message of ${line.length} bytes (the limit is daemon.maxMessageBytes)`));
      return;
    }
    if (this.#held) this.#held.push(line);
    else this.#listener?.message(line);
  }

  #sent(generation: number, message: JSONRPCMessage): void {
    if (generation !== this.#generation) return;
    this.#unsettled.delete(message);
    this.#sending -= 1;
    if (this.#full && this.#sending < HIGH_WATER / 2) {
      this.#full = false;
      this.#listener?.drain();
    }
  }

  /**
   * A message the server did not take: a request is answered with the error, so the client
   * never waits on silence. The first message of a connection failing means there is no
   * connection at all (or mcpd gave up on a server that ends its sessions): the session ends,
   * with the error on the client's stderr, and the requests whose sends were waiting on that
   * connection get the same answer rather than the session's bare "closed".
   */
  #undelivered(message: JSONRPCMessage, error: unknown, generation: number): void {
    if (generation !== this.#generation || this.#state !== 'running') return;
    const problem = error instanceof McpdError ? error : new McpdError('REMOTE_FAILED', String(error));
    if ('method' in message && 'id' in message) this.#listener?.message(Buffer.from(errorResponse(message.id, -32000, problem.format())));
    if (!this.#link?.ends(problem)) return this.#listener?.stderr(`mcpd: ${problem.message}`);
    for (const waiting of this.#unsettled) if ('method' in waiting && 'id' in waiting) this.#listener?.message(Buffer.from(errorResponse(waiting.id, -32000, problem.format())));
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
    this.#detach?.();
    this.#detach = undefined;
    this.#link = undefined;
    this.#leases = undefined;
    this.#sending = 0;
    this.#unsettled.clear();
    this.#full = false;
    await link?.close();
    await leases?.revokeAll();
  }
}
