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
import type { ExitInfo } from '../launcher/child.js';
import type { GateMessage, MessageGate } from '../policy/gate.js';
import { CLOSE, closeCodeForExit } from '../protocol.js';
import type { InstanceStatus } from '../protocol.js';
import type { Instance, InstanceListener } from '../supervisor/instance.js';
import { type RollDeps, type RollHost, type RollOutcome, Rollover } from './rollover.js';
import { type Envelope, type Id, envelopeOf, envelopeOfMessage, idKey, isRequest, readEnvelope, readHead } from './envelope.js';
import { Handshake } from './handshake.js';
import { type LongLine, Utf8Parts, wellFormed } from './framing.js';

/** The client side, as the session needs it; a WebSocket in the daemon, an array in tests. */
export interface ClientLink {
  /** One message, as UTF-8 text. */
  send(message: Buffer | string): void;
  /** One message in pieces as they arrive (a WebSocket message in fragments); nothing else is sent between its first and its last piece. */
  sendPart(part: Buffer, last: boolean): void;
  /** Masked server stderr, for clients that asked for it. */
  sendStderr?(line: string): void;
  /** Bytes queued toward the client and not yet written. */
  readonly bufferedAmount: number;
  /** Calls back once the queued bytes have been written. */
  onFlushed(callback: () => void): void;
  pause(): void;
  resume(): void;
  close(code: number, reason: string): void;
}

export interface SessionDeps {
  readonly id: string;
  readonly server: string;
  readonly instance: Instance;
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
  /** Called once the session is over, whatever ended it; `failure` says why its server gave up, if it did. */
  readonly onEnd: (failure: string | undefined) => void;
}

type Message = { jsonrpc?: string; id?: Id | null; method?: string; params?: unknown; result?: unknown; error?: unknown };
/** A client request the server has not answered yet. */
type Pending = { readonly id: Id; readonly method: string };

/** Above this many bytes queued toward the client, the server's stdout is paused. */
const HIGH_WATER = 1024 * 1024;

export class Session {
  readonly openedAt = new Date();
  readonly #deps: SessionDeps;
  /** Client requests sent to the server and not yet answered, by id key. */
  readonly #inflight = new Map<string, Pending>();
  /** What a restarted or rolled process is told first. */
  readonly #handshake = new Handshake();
  /** Messages sent while the server was not running, with the request's id key if one. */
  #held: Array<{ line: Buffer; key: string | undefined }> = [];
  #ended = false;
  #failure: string | undefined;
  #outputPaused = false;
  /** The instance serving the client; a roll replaces it. */
  #instance: Instance;
  /** A roll's new instance while it warms up, and what it reports to. */
  #next: { instance: Instance; answered: () => void; failed: (error: Error) => void } | undefined;
  /** While a roll drains the old instance: new client requests are held. */
  #holding = false;
  /** Requests from the server to the client not yet answered, by id key. */
  readonly #serverRequests = new Set<string>();
  /** Replayed requests whose answer a roll waits for, by id key. */
  readonly #replayWaiters = new Map<string, () => void>();
  /** Called once nothing is in flight either way, while a roll drains. */
  #idle: (() => void) | undefined;
  readonly #rollover: Rollover | undefined;

  constructor(deps: SessionDeps) {
    this.#deps = deps;
    this.#instance = deps.instance;
    this.#rollover = deps.roll && new Rollover(this.#rollHost(), deps.roll);
  }

  get id(): string {
    return this.#deps.id;
  }

  get server(): string {
    return this.#deps.server;
  }

  get client(): string | undefined {
    return this.#deps.client;
  }

  get instance(): Instance {
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
    this.#rollover?.arm();
  }

  /** A text message from the client (its UTF-8 bytes, as the WebSocket delivered them). */
  fromClient(text: Buffer | string): void {
    let line = typeof text === 'string' ? Buffer.from(text) : text;
    // The fast path reads the envelope and passes the bytes on untouched; a raw newline would split the frame.
    let envelope = line.includes(10) ? undefined : readEnvelope(line);
    if (!envelope) {
      const parsed = parseMessage(line);
      if (typeof parsed === 'string') {
        this.#deps.link.send(parsed);
        return;
      }
      // Re-serialised: a client may send pretty-printed JSON.
      line = Buffer.from(JSON.stringify(parsed));
      envelope = envelopeOfMessage(parsed);
    }
    const gate = this.#deps.gate;
    // Parsed only when the policy gate has a say in this method (a tools/call, a list, a denied read).
    if (gate && envelope.method !== undefined && gate.watches(envelope.method)) {
      const refused = gate.fromClient(JSON.parse(line.toString()) as GateMessage);
      if (refused !== undefined) return this.#deps.link.send(refused);
    }
    const key = this.#record(envelope, line);
    // While a roll drains, answers and cancellations still reach the old instance; everything else waits for the new one.
    const waits = this.#holding ? envelope.method !== undefined && envelope.method !== 'notifications/cancelled' : this.#held.length > 0;
    if (this.#instance.state === 'running' && !waits) this.#write(line);
    else this.#held.push({ line, key });
  }

  /** The client went away: the server is shut down. */
  async clientClosed(): Promise<void> {
    this.#ended = true;
    await this.#stopAll();
    this.#deps.onEnd(this.#failure);
  }

  /** Replaces the server process (`mcpd restart`, a changed definition); requests in flight get errors. */
  async restart(reason: string): Promise<void> {
    // Held requests never reached the old process: the new one answers them.
    const held = new Set(this.#held.map((h) => h.key));
    this.#failInflight(`server "${this.#deps.server}" was restarted (${reason}) while handling this request`, held);
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
    this.#failInflight(`session closed by mcpd: ${reason}`);
    this.#deps.link.close(code, reason);
    await this.#stopAll();
    this.#deps.onEnd(this.#failure);
  }

  async #stopAll(): Promise<void> {
    this.#rollover?.stop();
    const next = this.#next?.instance;
    this.#next = undefined;
    await Promise.all([this.#instance.stop(), next?.stop()]);
  }

  /**
   * Where each client message's id and method are known: keeps what a restart replays, and
   * returns the key of a request, now in flight. (A tool policy refusing a denied tools/call
   * decides here, before the write.)
   */
  #record(envelope: Envelope, line: Buffer): string | undefined {
    this.#handshake.record(envelope, line);
    if (isRequest(envelope)) {
      const key = idKey(envelope.id!);
      this.#inflight.set(key, { id: envelope.id!, method: envelope.method! });
      return key;
    }
    if (envelope.method === undefined && envelope.id !== undefined && envelope.id !== null && this.#serverRequests.delete(idKey(envelope.id))) this.#checkIdle();
    return undefined;
  }

  #write(line: Buffer | string, to = this.#instance): void {
    if (!to.write(line) && to === this.#instance) this.#deps.link.pause();
  }

  /** What `instance` reports: heard while it is current; while it warms up for a roll, only its handshake's answer counts. */
  #listener(instance: Instance): InstanceListener {
    const current = () => instance === this.#instance;
    const warming = () => this.#next?.instance === instance;
    return {
      message: (line) => (current() ? this.#fromServer(line) : warming() && this.#fromWarming(line)),
      long: (head) => (current() ? this.#longFromServer(head) : undefined),
      stderr: (line) => {
        this.#deps.log(line);
        if (current()) this.#deps.link.sendStderr?.(line);
      },
      started: (restart) => {
        if (warming()) return this.#warmUpStarted(instance);
        if (!current()) return;
        if (restart) this.#replay(instance);
        const held = this.#held;
        this.#held = [];
        for (const { line } of held) this.#write(line);
      },
      crashed: (info) => {
        if (warming()) return this.#next!.failed(new Error(`the new process exited with status ${info.exitCode} before it was ready`));
        if (!current()) return;
        this.#deps.note(`server exited with status ${info.exitCode}`);
        this.#serverRequests.clear();
        this.#failInflight(`server "${this.#deps.server}" exited (status ${info.exitCode}) while handling this request; mcpd is restarting it`);
      },
      failed: (reason, info) => {
        if (warming()) this.#next!.failed(new Error(reason));
        else if (current()) void this.#failed(reason, info);
      },
      drain: () => current() && this.#deps.link.resume(),
      // Fresh values before the old ones stop working; the client keeps its session through the roll.
      expiring: (reason) => {
        if (!current()) return;
        this.#deps.note(reason);
        void this.roll(reason);
      },
    };
  }

  /** A warming instance's output: only the answers to its replayed handshake; the old instance still speaks for the server. */
  #fromWarming(line: Buffer): void {
    const envelope = envelopeOf(line);
    if (envelope && isResponse(envelope)) this.#passes(envelope);
  }

  #warmUpStarted(instance: Instance): void {
    const key = this.#replay(instance);
    if (key === undefined) this.#next!.answered();
    else this.#replayWaiters.set(key, this.#next!.answered);
  }

  /** The session's side of a roll (rollover.ts). */
  #rollHost(): RollHost {
    return {
      server: this.#deps.server,
      current: () => this.#instance,
      note: (message) => this.#deps.note(message),
      warmUp: (next) => new Promise<void>((answered, failed) => {
        this.#next = { instance: next, answered, failed };
        next.start(this.#listener(next)).catch(failed);
      }),
      hold: () => {
        this.#holding = true;
        return new Promise<void>((resolve) => {
          this.#idle = resolve;
          this.#checkIdle();
        });
      },
      failInflight: (message) => {
        this.#idle = undefined;
        this.#serverRequests.clear();
        this.#failInflight(message, new Set(this.#held.map((h) => h.key)));
      },
      switchTo: (next) => {
        const old = this.#instance;
        this.#instance = next;
        this.#next = undefined;
        this.#holding = false;
        this.#idle = undefined;
        this.#serverRequests.clear();
        if (next.state === 'running') {
          const held = this.#held;
          this.#held = [];
          for (const { line } of held) this.#write(line);
        }
        return old;
      },
      abandon: (next) => {
        if (this.#next?.instance === next) this.#next = undefined;
      },
      close: (reason) => this.end(CLOSE.serviceRestart, reason),
    };
  }

  /** Nothing in flight on the current instance, either way (held requests never reached it): a draining roll may switch. */
  #checkIdle(): void {
    if (!this.#idle || this.#serverRequests.size > 0) return;
    const held = new Set(this.#held.map((h) => h.key));
    for (const key of this.#inflight.keys()) if (!held.has(key)) return;
    const idle = this.#idle;
    this.#idle = undefined;
    idle();
  }

  #fromServer(line: Buffer): void {
    const envelope = envelopeOf(line);
    if (!envelope) {
      // A server that logs to stdout would break the client's parser: keep it in the log instead.
      this.#deps.log(`[stdout, not JSON-RPC] ${line.toString()}`);
      return;
    }
    if (!this.#passes(envelope)) return;
    const gate = this.#deps.gate;
    if (gate && isResponse(envelope) && gate.needs(envelope.id!) === 'whole') {
      // A list result the policy filters: the whole message is needed.
      const text = line.toString();
      this.#deps.link.send(gate.fromServer(JSON.parse(text) as GateMessage, text));
    } else {
      this.#deps.link.send(wellFormed(line));
    }
    this.#settled(envelope);
    this.#throttle();
  }

  /**
   * A long server line, from its head: passed on as it arrives, and its envelope read once its
   * last byte is in. A head that does not say what the line is (the MCP SDK writes the id after
   * the result) is passed on too, unless an answer the client must not see (a replayed
   * request's) or one the policy filters is in flight: then it is left to arrive whole.
   */
  #longFromServer(head: Buffer): LongLine | undefined {
    const envelope = readHead(head);
    if (!envelope) return mayBeMessage(head) && !this.#handshake.awaiting && !this.#deps.gate?.filtering ? this.#passOn(undefined) : undefined;
    const key = isResponse(envelope) ? idKey(envelope.id!) : undefined;
    if (key !== undefined && this.#handshake.isReplayed(key)) {
      return { part: () => {}, end: (complete) => complete && this.#handshake.answered(key) };
    }
    const needs = key !== undefined ? this.#deps.gate?.needs(envelope.id!) : undefined;
    if (needs === 'whole') return undefined;
    // Read whole at the end: a tool call's outcome, and a message with a method whose id may come after it.
    return this.#passOn(needs === 'outcome' || (envelope.method !== undefined && envelope.id === undefined) ? undefined : envelope);
  }

  /**
   * Passes a long line on in parts. Without `head` (the envelope it needs), its envelope is read
   * at its end from the parts kept (references to the bytes being sent, not copies).
   */
  #passOn(head: Envelope | undefined): LongLine {
    const utf8 = new Utf8Parts();
    const kept: Buffer[] | undefined = head ? undefined : [];
    return {
      part: (bytes) => {
        kept?.push(bytes);
        this.#deps.link.sendPart(utf8.take(bytes), false);
        this.#throttle();
      },
      end: (complete) => {
        this.#deps.link.sendPart(utf8.flush(), true);
        // Cut off, the request stays in flight: the crash or restart that cut it answers it with an error.
        if (!complete) return;
        const envelope = kept ? envelopeOf(Buffer.concat(kept)) : head;
        if (!envelope) return this.#deps.note('the server wrote a long line on stdout that is not JSON-RPC; it was passed on as it came');
        if (this.#passes(envelope)) this.#settled(envelope);
      },
    };
  }

  /** What a server message that reached the client leaves: a request of the server's to answer, a tool call's outcome. */
  #settled(envelope: Envelope): void {
    if (isRequest(envelope)) this.#serverRequests.add(idKey(envelope.id!));
    else if (isResponse(envelope)) this.#deps.gate?.answered(envelope.id!, envelope.outcome ?? 'ok');
  }

  /**
   * Where each server message's envelope is known: false for an answer to a replayed request,
   * which the client must not see. A response's request (and its method) is
   * `this.#inflight.get(key)` until it is deleted here.
   */
  #passes(envelope: Envelope): boolean {
    if (!isResponse(envelope)) return true;
    const key = idKey(envelope.id!);
    if (this.#handshake.answered(key)) {
      this.#replayWaiters.get(key)?.();
      this.#replayWaiters.delete(key);
      return false;
    }
    if (this.#inflight.delete(key) && this.#idle) this.#checkIdle();
    return true;
  }

  /** Above HIGH_WATER queued toward the client, the server's stdout waits for the client to catch up. */
  #throttle(): void {
    if (!this.#outputPaused && this.#deps.link.bufferedAmount > HIGH_WATER) {
      this.#outputPaused = true;
      this.#instance.pauseOutput();
      this.#deps.link.onFlushed(() => {
        this.#outputPaused = false;
        this.#instance.resumeOutput();
      });
    }
  }

  /** Brings a new process to where the client believes the server is; returns the key of the replayed initialize. */
  #replay(to: Instance): string | undefined {
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

/** Whether a line may be a JSON-RPC message: it opens an object. */
function mayBeMessage(head: Buffer): boolean {
  for (const byte of head) if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0d) return byte === 0x7b;
  return false;
}

/** A message from the server with an id and no method answers a request. */
function isResponse(envelope: Envelope): boolean {
  return envelope.method === undefined && envelope.id !== undefined && envelope.id !== null;
}

/** The slow path: the whole message parsed; a string is the error response to send instead. */
function parseMessage(line: Buffer): Message | string {
  let message: unknown;
  try {
    message = JSON.parse(line.toString());
  } catch {
    return errorResponse(null, -32700, 'Parse error: mcpd received a message that is not JSON; it was not passed to the server');
  }
  if (typeof message !== 'object' || message === null) return errorResponse(null, -32600, 'Invalid Request: a JSON-RPC message is an object');
  return message as Message;
}

function errorResponse(id: Id | null, code: number, message: string): string {
  return JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } });
}
