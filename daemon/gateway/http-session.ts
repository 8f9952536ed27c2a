/**
 * One Mcp-Session-Id: the SDK's Streamable HTTP server transport in front of one mcpd Session,
 * bound to the principal that opened it. The two end together: DELETE, an idle timeout (no
 * request and no open stream for `idleMs`) or the transport closing ends the mcpd Session, so
 * its server does not outlive its client; the mcpd Session ending (its server gave up, a token
 * revoked, the daemon stopping) closes the transport, and the id is then unknown (404).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Session } from '../session/session.js';
import { BoundedEventStore } from './event-store.js';
import { HttpLink } from './http-link.js';
import { sendWebResponse, toWebRequest } from './web-exchange.js';

type Transport = InstanceType<typeof import('./sdk-server.js').WebStandardStreamableHTTPServerTransport>;

export interface HttpSessionDeps {
  readonly sdk: typeof import('./sdk-server.js');
  /** Who opened it: a request with its id from another subject is answered as if the id were unknown. */
  readonly subject: string;
  /** The roles it had then: a request bringing others ends the session (see Gateway). */
  readonly roles: readonly string[];
  readonly server: string;
  readonly idleMs: number;
  readonly maxBodyBytes: number;
  /** Called when the transport gives the session its id, as it answers the initialize. */
  readonly onStart: (self: HttpSession, sessionId: string) => void;
  /** Called once the HTTP session is over, whatever ended it. */
  readonly onEnd: (self: HttpSession) => void;
  readonly note: (event: string, fields: Record<string, unknown>) => void;
}

export class HttpSession {
  readonly #deps: HttpSessionDeps;
  readonly #transport: Transport;
  readonly link: HttpLink;
  #session: Session | undefined;
  /** Requests being answered and streams open now; at 0 the idle timer runs. */
  #open = 0;
  #idle: NodeJS.Timeout | undefined;
  #over = false;
  /** The POST whose body is being read or handed over now: the next waits for it (see `post`). */
  #intake: Promise<void> = Promise.resolve();
  /** Called as the transport hands the session the current POST's message. */
  #delivered: (() => void) | undefined;

  constructor(deps: HttpSessionDeps) {
    this.#deps = deps;
    const sizes = new WeakMap<object, number>();
    this.#transport = new deps.sdk.WebStandardStreamableHTTPServerTransport({
      // 256 random bits: an id is a capability, guessed by no one.
      sessionIdGenerator: () => randomBytes(32).toString('base64url'),
      eventStore: new BoundedEventStore(sizes),
      maxRequestBodySize: deps.maxBodyBytes,
      // Registered before the initialize is answered: the client's next request may come at once.
      onsessioninitialized: (sessionId) => deps.onStart(this, sessionId),
    });
    const problem = (error: unknown) => deps.note('gateway.error', { server: deps.server, error: error instanceof Error ? error.message : String(error) });
    this.link = new HttpLink(this.#transport, sizes, problem);
    this.link.onClosed = () => this.#end(false);
    this.#transport.onmessage = (message: JSONRPCMessage) => {
      this.link.fromClient(message);
      this.#session?.fromClientMessage(message);
      this.#delivered?.();
    };
    // DELETE, or the link closing it: either way the mcpd Session ends with it.
    this.#transport.onclose = () => this.#end(true);
  }

  get id(): string | undefined {
    return this.#transport.sessionId;
  }

  get subject(): string {
    return this.#deps.subject;
  }

  /** Whether `roles` are the ones the session was opened with (in any order). */
  heldBy(roles: readonly string[]): boolean {
    const held = new Set(this.#deps.roles);
    const given = new Set(roles);
    return given.size === held.size && [...given].every((role) => held.has(role));
  }

  get server(): string {
    return this.#deps.server;
  }

  /** The mcpd Session this transport feeds; set before the first request is handled. */
  attach(session: Session): void {
    this.#session = session;
  }

  /** Serves one request of this session (the first is its initialize); `body` is the parsed JSON of a POST. */
  async handle(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    // Once over, the transport is closed or closing, and answers 404 itself.
    this.#open++;
    clearTimeout(this.#idle);
    res.once('close', () => {
      if (--this.#open === 0 && !this.#over) this.#idle = setTimeout(() => this.#end(true, 'idle'), this.#deps.idleMs).unref();
    });
    await sendWebResponse(await this.#transport.handleRequest(toWebRequest(req), { parsedBody: body }), res, this.link.stalls);
  }

  /**
   * Serves a POST of this session, its body read by `read` (undefined when it refused it). The
   * bodies of one session are read one at a time, each once the server took the one before
   * (Session pauses the link when the server's stdin is full): a client that sends faster than
   * its server reads leaves its requests in its connections, not in the daemon's memory.
   */
  async post(req: IncomingMessage, res: ServerResponse, read: () => Promise<unknown>): Promise<void> {
    const previous = this.#intake;
    let release!: () => void;
    this.#intake = new Promise<void>((done) => { release = done; });
    let handled: Promise<void> | undefined;
    try {
      await previous;
      if (this.link.ready) await this.link.ready;
      const body = await read();
      if (body === undefined) return;
      const delivered = new Promise<void>((done) => { this.#delivered = done; });
      handled = this.handle(req, res, body);
      // The turn ends when the message reached the session, or when the transport answered without it (an error).
      await Promise.race([delivered, handled]);
    } finally {
      // Before the next turn can begin, so that it never loses its own callback to this one.
      this.#delivered = undefined;
      release();
    }
    await handled;
  }

  /** Ends the HTTP session and its mcpd Session (DELETE did it through the transport; this is the idle timeout's and a failed initialize's way). */
  async close(): Promise<void> {
    await this.#transport.close();
    this.#end(true);
  }

  #end(clientSide: boolean, why?: string): void {
    if (this.#over) return;
    this.#over = true;
    clearTimeout(this.#idle);
    this.#deps.onEnd(this);
    if (why === 'idle') {
      this.#deps.note('gateway.idle', { server: this.#deps.server, idleMs: this.#deps.idleMs });
      void this.#transport.close();
    }
    // From the client's side (DELETE, idle, a transport closed): the server is shut down. From
    // the session's side (link.close) it is ending already.
    if (clientSide) void this.#session?.clientClosed();
  }
}
