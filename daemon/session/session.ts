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
 */
import type { ExitInfo } from '../launcher/child.js';
import type { MessageGate } from '../policy/gate.js';
import { CLOSE, closeCodeForExit } from '../protocol.js';
import type { Instance, InstanceListener } from '../supervisor/instance.js';

/** The client side, as the session needs it; a WebSocket in the daemon, an array in tests. */
export interface ClientLink {
  send(message: string): void;
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
  /** Called once the session is over, whatever ended it; `failure` says why its server gave up, if it did. */
  readonly onEnd: (failure: string | undefined) => void;
}

type Id = string | number;
type Message = { jsonrpc?: string; id?: Id | null; method?: string; params?: unknown; result?: unknown; error?: unknown };

/** Recorded client messages that set up server-side state, replayed in order after a restart. */
const REPLAYED = new Set(['logging/setLevel', 'resources/subscribe', 'resources/unsubscribe']);
/** Above this many bytes queued toward the client, the server's stdout is paused. */
const HIGH_WATER = 1024 * 1024;

export class Session {
  readonly openedAt = new Date();
  readonly #deps: SessionDeps;
  /** Client requests sent to the server and not yet answered, by id. */
  readonly #inflight = new Map<string, Id>();
  #initialize: Message | undefined;
  #initialized: string | undefined;
  readonly #stateMessages: Message[] = [];
  /** Ids of replayed requests, whose responses the client must not see: it had its own answers. */
  readonly #replayIds = new Set<string>();
  /** Messages sent while the server was not running, with the request's id key if one. */
  #held: Array<{ line: string; key: string | undefined }> = [];
  #replays = 0;
  #ended = false;
  #failure: string | undefined;
  #outputPaused = false;

  constructor(deps: SessionDeps) {
    this.#deps = deps;
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
    return this.#deps.instance;
  }

  /** Starts the server; rejects when it cannot start (the connection is then refused). */
  start(): Promise<void> {
    return this.#deps.instance.start(this.#listener());
  }

  /** A text message from the client. */
  fromClient(text: string): void {
    let message: Message;
    try {
      message = JSON.parse(text) as Message;
    } catch {
      this.#deps.link.send(errorResponse(null, -32700, 'Parse error: mcpd received a message that is not JSON; it was not passed to the server'));
      return;
    }
    if (typeof message !== 'object' || message === null) {
      this.#deps.link.send(errorResponse(null, -32600, 'Invalid Request: a JSON-RPC message is an object'));
      return;
    }
    const refused = this.#deps.gate?.fromClient(message);
    if (refused !== undefined) return this.#deps.link.send(refused);
    // Re-serialised: a client may send pretty-printed JSON, and a raw newline would split the frame.
    const line = JSON.stringify(message);
    const key = this.#record(message, line);
    if (this.#deps.instance.state === 'running' && this.#held.length === 0) this.#write(line);
    else this.#held.push({ line, key });
  }

  /** The client went away: the server is shut down. */
  async clientClosed(): Promise<void> {
    this.#ended = true;
    await this.#deps.instance.stop();
    this.#deps.onEnd(this.#failure);
  }

  /** Replaces the server process (`mcpd restart`, a changed definition); requests in flight get errors. */
  async restart(reason: string): Promise<void> {
    // Held requests never reached the old process: the new one answers them.
    const held = new Set(this.#held.map((h) => h.key));
    this.#failInflight(`server "${this.#deps.server}" was restarted (${reason}) while handling this request`, held);
    await this.#deps.instance.restart(reason);
  }

  /** Ends the session from the daemon's side (shutdown, server removed from the config). */
  async end(code: number, reason: string): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    this.#failInflight(`session closed by mcpd: ${reason}`);
    this.#deps.link.close(code, reason);
    await this.#deps.instance.stop();
    this.#deps.onEnd(this.#failure);
  }

  /** Keeps what a restart replays; returns the key of a request, now in flight. */
  #record(message: Message, line: string): string | undefined {
    if (message.id !== undefined && message.id !== null && typeof message.method === 'string') {
      const key = idKey(message.id);
      this.#inflight.set(key, message.id);
      if (message.method === 'initialize') this.#initialize = message;
      else if (REPLAYED.has(message.method)) this.#stateMessages.push(message);
      return key;
    }
    if (message.method === 'notifications/initialized') this.#initialized = line;
    return undefined;
  }

  #write(line: string): void {
    if (!this.#deps.instance.write(line)) this.#deps.link.pause();
  }

  #listener(): InstanceListener {
    return {
      message: (line) => this.#fromServer(line),
      stderr: (line) => {
        this.#deps.log(line);
        this.#deps.link.sendStderr?.(line);
      },
      started: (restart) => {
        if (restart) this.#replay();
        const held = this.#held;
        this.#held = [];
        for (const { line } of held) this.#write(line);
      },
      crashed: (info) => {
        this.#deps.note(`server exited with status ${info.exitCode}`);
        this.#failInflight(`server "${this.#deps.server}" exited (status ${info.exitCode}) while handling this request; mcpd is restarting it`);
      },
      failed: (reason, info) => void this.#failed(reason, info),
      drain: () => this.#deps.link.resume(),
      // Fresh values before the old ones stop working; the client keeps its session through the restart.
      expiring: (reason) => {
        this.#deps.note(reason);
        void this.restart(reason);
      },
    };
  }

  #fromServer(line: string): void {
    let message: Message;
    try {
      message = JSON.parse(line) as Message;
    } catch {
      // A server that logs to stdout would break the client's parser: keep it in the log instead.
      this.#deps.log(`[stdout, not JSON-RPC] ${line}`);
      return;
    }
    if (message.method === undefined && message.id !== undefined && message.id !== null) {
      const key = idKey(message.id);
      if (this.#replayIds.delete(key)) return;
      this.#inflight.delete(key);
    }
    this.#deps.link.send(this.#deps.gate?.fromServer(message, line) ?? line);
    if (!this.#outputPaused && this.#deps.link.bufferedAmount > HIGH_WATER) {
      this.#outputPaused = true;
      this.#deps.instance.pauseOutput();
      this.#deps.link.onFlushed(() => {
        this.#outputPaused = false;
        this.#deps.instance.resumeOutput();
      });
    }
  }

  /** Brings a new process to where the client believes the server is. */
  #replay(): void {
    if (!this.#initialize) return;
    this.#write(this.#replayed(this.#initialize));
    if (this.#initialized) this.#write(this.#initialized);
    for (const message of this.#stateMessages) this.#write(this.#replayed(message));
  }

  /** A recorded request under an id of mcpd's own, so its response is not passed to the client again. */
  #replayed(message: Message): string {
    const id = `mcpd-replay-${++this.#replays}`;
    this.#replayIds.add(idKey(id));
    return JSON.stringify({ ...message, id });
  }

  async #failed(reason: string, info: ExitInfo | undefined): Promise<void> {
    this.#deps.note(`server will not be restarted: ${reason}`);
    this.#failure = reason;
    await this.end(info ? closeCodeForExit(info.exitCode) : CLOSE.internal, reason);
  }

  #failInflight(message: string, except: ReadonlySet<string | undefined> = new Set()): void {
    for (const [key, id] of this.#inflight) {
      if (except.has(key)) continue;
      this.#deps.link.send(errorResponse(id, -32603, message));
      this.#inflight.delete(key);
    }
  }
}

function idKey(id: Id): string {
  return typeof id === 'number' ? `n:${id}` : `s:${id}`;
}

function errorResponse(id: Id | null, code: number, message: string): string {
  return JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } });
}
