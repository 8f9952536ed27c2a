/**
 * A session's client side over MCP Streamable HTTP: hands each server message to the SDK's
 * server transport, on the SSE stream of the client request it belongs to. Responses go by their
 * id (the transport does that); `notifications/progress` by the `progressToken` its request
 * carried in `_meta`; any other notification or server request (sampling, elicitation, logging)
 * to the latest client request still in flight, else to the standalone GET stream.
 *
 * Each server message is parsed once here, and serialised once by the transport as it writes
 * the SSE event.
 */
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { ClientLink } from '../session/client-link.js';
import { Stalls } from './web-exchange.js';

type Id = string | number;

/** What the link needs of the SDK transport. */
export interface MessageSink {
  send(message: JSONRPCMessage, options?: { relatedRequestId?: Id }): Promise<void>;
  close(): Promise<void>;
}

export class HttpLink implements ClientLink {
  /** The gateway counts each request against the subject's rate as it reads a POST (a 429 there), so the session's gate does not count it again. */
  readonly countsRequests = true;
  readonly #sink: MessageSink;
  /** Told each message's size as the server sent it, for the event store's bound. */
  readonly #sizes: WeakMap<object, number>;
  readonly #problem: (error: unknown) => void;
  /** Client requests the server has not answered, oldest first, with their progress token if any. */
  readonly #inflight = new Map<Id, Id | undefined>();
  /** Progress tokens of the requests in flight, to the request's id. */
  readonly #progress = new Map<Id, Id>();
  #parts: Buffer[] = [];
  /** The last send handed to the transport: sends finish in order, and a close waits for them. */
  #last: Promise<void> = Promise.resolve();
  #closed = false;
  #paused: { promise: Promise<void>; resolve: () => void } | undefined;
  /** Called once, when the session closes the link (its server gave up, the daemon stops, a token was revoked). */
  onClosed: (() => void) | undefined;
  /** This session's responses that wait for their client to read (handed to web-exchange.ts's writer). */
  readonly stalls = new Stalls();

  constructor(sink: MessageSink, sizes: WeakMap<object, number>, problem: (error: unknown) => void) {
    this.#sink = sink;
    this.#sizes = sizes;
    this.#problem = problem;
  }

  /** A client message on its way to the session: requests are remembered until answered, so what the server says meanwhile finds their stream. */
  fromClient(message: JSONRPCMessage): void {
    if (!('method' in message)) return;
    if (!('id' in message)) {
      // A cancelled request gets no answer: it is no longer one that server messages belong to.
      const cancelled = message.method === 'notifications/cancelled' ? (message.params as { requestId?: unknown } | undefined)?.requestId : undefined;
      if (typeof cancelled === 'string' || typeof cancelled === 'number') this.#answered(cancelled);
      return;
    }
    const meta = (message.params as { _meta?: { progressToken?: unknown } } | undefined)?._meta;
    const token = meta?.progressToken;
    const known = typeof token === 'string' || typeof token === 'number' ? token : undefined;
    this.#inflight.set(message.id, known);
    if (known !== undefined) this.#progress.set(known, message.id);
  }

  send(message: Buffer | string): void {
    if (this.#closed) return;
    const text = typeof message === 'string' ? message : message.toString();
    let parsed: JSONRPCMessage;
    try {
      parsed = JSON.parse(text) as JSONRPCMessage;
    } catch (error) {
      return this.#problem(error);
    }
    if (typeof parsed !== 'object' || parsed === null) return this.#problem(new Error('a server message that is not a JSON object'));
    this.#sizes.set(parsed, typeof message === 'string' ? text.length : message.length);
    const related = this.#relatedRequest(parsed);
    this.#last = this.#sink.send(parsed, related === undefined ? undefined : { relatedRequestId: related }).catch(this.#problem);
  }

  sendPart(part: Buffer, last: boolean): void {
    this.#parts.push(part);
    if (!last) return;
    const whole = Buffer.concat(this.#parts);
    this.#parts = [];
    this.send(whole);
  }

  /**
   * The transport's streams buffer what the client has not read, and mcpd cannot see into
   * them; a response waiting for its client to read (web-exchange.ts) is what it can see. One
   * counts as a full queue, so the server's output waits for the client (server-output.ts).
   */
  get bufferedAmount(): number {
    return this.stalls.any ? Number.MAX_SAFE_INTEGER : 0;
  }

  onFlushed(callback: () => void): void {
    this.stalls.whenNone(callback);
  }

  /** Resolves once the server takes input again; undefined while it does. Requests wait for it before their body is read. */
  get ready(): Promise<void> | undefined {
    return this.#paused?.promise;
  }

  // The server's stdin is full: the session's next requests are held unread (their bodies left in their connections) until it drains.
  pause(): void {
    if (this.#paused) return;
    let resolve!: () => void;
    this.#paused = { promise: new Promise<void>((done) => { resolve = done; }), resolve };
  }

  resume(): void {
    const paused = this.#paused;
    this.#paused = undefined;
    paused?.resolve();
  }

  close(_code: number, _reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.resume();
    this.onClosed?.();
    // After the messages already handed over (the errors the session sends its requests in flight as it ends).
    void this.#last.then(() => this.#sink.close()).catch(this.#problem);
  }

  /** The client request a server message belongs to; undefined for the standalone stream. */
  #relatedRequest(message: JSONRPCMessage): Id | undefined {
    if (!('method' in message)) {
      // A response: its request is no longer in flight (the transport routes it by its id).
      if ('id' in message && message.id !== undefined) this.#answered(message.id);
      return undefined;
    }
    if (message.method === 'notifications/progress') {
      const token = (message.params as { progressToken?: unknown } | undefined)?.progressToken;
      const request = typeof token === 'string' || typeof token === 'number' ? this.#progress.get(token) : undefined;
      if (request !== undefined) return request;
    }
    let latest: Id | undefined;
    for (const id of this.#inflight.keys()) latest = id;
    return latest;
  }

  #answered(id: Id): void {
    const token = this.#inflight.get(id);
    if (!this.#inflight.delete(id)) return;
    if (token !== undefined && this.#progress.get(token) === id) this.#progress.delete(token);
  }
}
