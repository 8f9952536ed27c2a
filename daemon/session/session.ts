/**
 * A session: one client connection bridged to one server instance, message for message.
 *
 * The bridge keeps what a restart needs so the client never notices one, except by errors on
 * the requests that were in flight: the client's `initialize` and `notifications/initialized`
 * (and its `logging/setLevel` and `resources/subscribe`) are recorded and replayed to a new
 * process before anything else; messages sent while the server is coming back are held; every
 * request in flight when a process dies is answered with a JSON-RPC error, never silence.
 *
 * Backpressure both ways: a full server stdin pauses reading from the client; a client that
 * reads slowly pauses reading the server's stdout.
 *
 * A roll (rollover.ts) runs a second instance beside the first: its messages reach the client only
 * once it is current, except the answers to the replayed handshake, which the client never sees.
 */
import { type Clock, systemClock } from '../../core/clock.js';
import type { ExitInfo } from '../launcher/child.js';
import type { MessageGate } from '../policy/gate.js';
import { CLOSE, closeCodeForExit } from '../protocol.js';
import type { InstanceStatus } from '../protocol.js';
import type { InstanceListener } from '../supervisor/instance.js';
import type { ServerInstance } from '../supervisor/server-instance.js';
import { type RollDeps, type RollOutcome, Rollover } from './rollover.js';
import type { ClientLink } from './client-link.js';
import { checkClientMessage, errorResponse, type ReadMessage, readClientMessage } from './client-message.js';
import { type Envelope, type Id, idKey, isRequest, isResponse } from './envelope.js';
import { Handshake } from './handshake.js';
import { HeldMessages } from './held.js';
import { Inflight } from './inflight.js';
import { SessionRollHost } from './roll-host.js';
import { ServerOutput } from './server-output.js';

export interface SessionDeps {
  readonly id: string;
  readonly server: string;
  readonly instance: ServerInstance;
  readonly link: ClientLink;
  /** What the client said it is (its User-Agent), for status. */
  readonly client: string | undefined;
  /** Where the server's masked stderr goes (the per-server log). */
  readonly log: (line: string) => void;
  /** Daemon notes about this session (never values). */
  readonly note: (message: string) => void;
  /** Tool policy and call auditing; it may answer a client request itself or rewrite a list result. */
  readonly gate?: MessageGate;
  /** How to roll onto fresh values; without it a roll is a restart. */
  readonly roll?: RollDeps;
  /**
   * Called once the session is over, whatever ended it; `failure` says why its server gave up,
   * if it did, `endedBy` why mcpd ended it (a revoked token, the daemon stopping), if it did.
   */
  readonly onEnd: (failure: string | undefined, endedBy?: string) => void;
  /** Times the wait for answers after the client's input ended (default the system clock). */
  readonly clock?: Clock;
}

/** How long a session whose input ended waits for the answers to its requests. */
export const INPUT_DRAIN_MS = 30_000;

/** A client request the server has not answered yet. */
type Pending = { readonly id: Id; readonly method: string };

export class Session {
  readonly openedAt = new Date();
  readonly id: string;
  readonly server: string;
  /** What the client said it is (its User-Agent), for status. */
  readonly client: string | undefined;
  readonly #deps: SessionDeps;
  /** Client requests sent to the server and not yet answered, by id key. */
  readonly #inflight = new Inflight<Pending>();
  /** What a restarted or rolled process is told first. */
  readonly #handshake = new Handshake();
  readonly #held = new HeldMessages();
  #ended = false;
  #failure: string | undefined;
  /** Why mcpd ended the session (end()), if it did. */
  #endedBy: string | undefined;
  /** The instance serving the client; a roll replaces it. */
  #instance: ServerInstance;
  /** Requests from the server to the client not yet answered, by id key. */
  readonly #serverRequests = new Set<string>();
  readonly #rollHost: SessionRollHost;
  readonly #output: ServerOutput;
  readonly #rollover: Rollover | undefined;
  /** Ends inputEnded's wait, so an ended session holds no timer. */
  #cancelDrain: (() => void) | undefined;

  constructor(deps: SessionDeps) {
    ({ id: this.id, server: this.server, client: this.client } = deps);
    this.#deps = deps;
    this.#instance = deps.instance;
    this.#rollHost = new SessionRollHost({
      server: deps.server,
      current: () => this.#instance,
      note: (message) => this.#deps.note(message),
      start: (next) => next.start(this.#listener(next)),
      replay: (to) => this.#replay(to),
      busy: () => {
        if (this.#serverRequests.size > 0) return true;
        const held = this.#held.keys();
        for (const key of this.#inflight.keys()) if (!held.has(key)) return true;
        return false;
      },
      failInflight: (message) => {
        this.#serverRequests.clear();
        this.#failInflight(message, this.#held.keys());
      },
      switchTo: (next) => {
        const old = this.#instance;
        this.#instance = next;
        this.#serverRequests.clear();
        if (next.state === 'running') this.#sendHeld();
        return old;
      },
      close: (reason) => this.end(CLOSE.serviceRestart, reason),
    });
    this.#output = new ServerOutput(deps, {
      handshake: this.#handshake,
      inflight: this.#inflight,
      serverRequests: this.#serverRequests,
      current: () => this.#instance,
      roll: this.#rollHost,
    });
    this.#rollover = deps.roll && new Rollover(this.#rollHost, deps.roll);
  }

  get instance(): ServerInstance {
    return this.#instance;
  }

  /** The current instance's status, with why a roll failed if one did. */
  status(): InstanceStatus {
    const problem = this.#rollover?.problem;
    return { ...this.#instance.status(), ...(problem ? { rollover: problem } : {}) };
  }

  /** Starts the server; rejects when it cannot start (the connection is then refused). */
  async start(): Promise<void> {
    await this.#instance.start(this.#listener(this.#instance));
    // A pooled process has held its values since it started, not since the session took it.
    const since = this.#instance.status().since;
    this.#rollover?.arm(since === undefined ? undefined : Date.parse(since));
  }

  /** A text message from the client (its UTF-8 bytes, as the WebSocket delivered them). */
  fromClient(text: Buffer | string): void {
    this.#fromClient(readClientMessage(text));
  }

  /** A client message parsed already (an HTTP body); judged and passed on as fromClient's. */
  fromClientMessage(message: unknown): void {
    this.#fromClient(checkClientMessage(message));
  }

  #fromClient(read: ReadMessage | string): void {
    if (typeof read === 'string') return this.#deps.link.send(read);
    // `line` is `message` serialised: the gate judges exactly what the server would get.
    const { line, message, envelope } = read;
    const refused = this.#deps.gate?.fromClient(message);
    if (refused) {
      if (refused.answer !== undefined) this.#deps.link.send(refused.answer);
      return;
    }
    const key = this.#record(envelope, line);
    // While a roll drains, answers and cancellations still reach the old instance; everything else waits for the new one.
    const waits = this.#rollHost.holding ? envelope.method !== undefined && envelope.method !== 'notifications/cancelled' : this.#held.waiting;
    if (this.#instance.state === 'running' && !waits) this.#write(line);
    else this.#held.push(line, key);
  }

  /**
   * The client's input ended (a stream's stdin: server/stream-input.ts): the session closes
   * with `code` and `reason` once every request the client sent is answered, or after
   * INPUT_DRAIN_MS. Its server's requests to the client go unanswered: nothing can answer now.
   */
  inputEnded(code: number = CLOSE.normal, reason = 'stdin closed'): void {
    // The last answer leaves the map just before it is sent, so the close waits for this turn's
    // reads: the server's stderr written before that answer is read with it, and goes first.
    const close = () => setImmediate(() => this.#ended || this.#deps.link.close(code, reason));
    this.#cancelDrain = this.#inflight.whenEmpty(close, this.#deps.clock ?? systemClock, INPUT_DRAIN_MS);
  }

  /** The client went away: the server is shut down. */
  async clientClosed(): Promise<void> {
    this.#ended = true;
    await this.#stopAll();
    // After end() closed the link, the client's close may come back first: it still ended for end()'s reason.
    this.#deps.onEnd(this.#failure, this.#endedBy);
  }

  /** Replaces the server process (`mcpd restart`, a changed definition); requests in flight get errors. */
  async restart(reason: string): Promise<void> {
    // Held requests never reached the old process: the new one answers them.
    this.#failInflight(`server "${this.#deps.server}" was restarted (${reason}) while handling this request`, this.#held.keys());
    await this.#instance.restart(reason);
  }

  /** Moves the session onto fresh values without the client noticing (rollover.ts); without roll deps, a restart. */
  async roll(reason: string): Promise<RollOutcome | 'restarted'> {
    if (this.#ended) return 'closed';
    if (!this.#rollover) {
      await this.restart(reason);
      return 'restarted';
    }
    return this.#rollover.roll(reason);
  }

  /** Ends the session from the daemon's side (shutdown, server removed from the config). */
  async end(code: number, reason: string): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    this.#endedBy = reason;
    this.#failInflight(`session closed by mcpd: ${reason}`);
    this.#deps.link.close(code, reason);
    await this.#stopAll();
    this.#deps.onEnd(this.#failure, reason);
  }

  async #stopAll(): Promise<void> {
    this.#cancelDrain?.();
    this.#rollover?.stop();
    const next = this.#rollHost.takeNext();
    await Promise.all([this.#instance.stop(), next?.stop()]);
  }

  /**
   * Where each client message's id and method are known: keeps what a restart replays, and
   * returns the key of a request, now in flight.
   */
  #record(envelope: Envelope, line: Buffer): string | undefined {
    this.#handshake.record(envelope, line);
    if (isRequest(envelope)) {
      const key = idKey(envelope.id!);
      this.#inflight.set(key, { id: envelope.id!, method: envelope.method! });
      return key;
    }
    if (isResponse(envelope) && this.#serverRequests.delete(idKey(envelope.id!))) this.#rollHost.checkIdle();
    return undefined;
  }

  #write(line: Buffer | string, to = this.#instance): void {
    if (!to.write(line) && to === this.#instance) this.#deps.link.pause();
  }

  /** What `instance` reports: heard while it is current; while it warms up for a roll, only its handshake's answer counts. */
  #listener(instance: ServerInstance): InstanceListener {
    const current = () => instance === this.#instance;
    const warming = () => this.#rollHost.warming(instance);
    return {
      message: (line) => (current() ? this.#output.fromServer(line) : warming() && this.#output.fromWarming(line)),
      long: (head) => (current() ? this.#output.longFromServer(head) : undefined),
      stderr: (line) => {
        this.#deps.log(line);
        if (current()) this.#deps.link.sendStderr?.(line);
      },
      started: (restart) => {
        if (warming()) return this.#rollHost.started(instance);
        if (!current()) return;
        if (restart) this.#replay(instance);
        this.#sendHeld();
      },
      crashed: (info) => {
        if (warming()) return this.#rollHost.warmingFailed(new Error(`the new process exited with status ${info.exitCode} before it was ready`));
        if (!current()) return;
        this.#deps.note(`server exited with status ${info.exitCode}`);
        this.#serverRequests.clear();
        this.#failInflight(`server "${this.#deps.server}" exited (status ${info.exitCode}) while handling this request; mcpd is restarting it`);
      },
      failed: (reason, info) => {
        if (warming()) this.#rollHost.warmingFailed(new Error(reason));
        else if (current()) void this.#failed(reason, info);
      },
      drain: () => current() && this.#deps.link.resume(),
      notice: (notice) => current() && (this.#deps.link.sendNotice?.(notice) ?? false),
      // Fresh values before the old ones stop working; the client keeps its session through the roll.
      expiring: (reason) => {
        if (!current()) return;
        this.#deps.note(reason);
        void this.roll(reason);
      },
    };
  }

  #sendHeld(): void {
    for (const line of this.#held.take()) this.#write(line);
  }

  /** Brings a new process to where the client believes the server is; returns the key of the replayed initialize. */
  #replay(to: ServerInstance): string | undefined {
    const { lines, initializeKey } = this.#handshake.replay();
    for (const line of lines) this.#write(line, to);
    return initializeKey;
  }

  async #failed(reason: string, info: ExitInfo | undefined): Promise<void> {
    this.#deps.note(`server will not be restarted: ${reason}`);
    this.#failure = reason;
    await this.end(info ? closeCodeForExit(info.exitCode) : CLOSE.internal, reason);
  }

  #failInflight(message: string, except: ReadonlySet<string | undefined> = new Set()): void {
    for (const [key, { id }] of this.#inflight) {
      if (except.has(key)) continue;
      this.#deps.link.send(errorResponse(id, -32603, message));
      this.#inflight.delete(key);
    }
  }
}
