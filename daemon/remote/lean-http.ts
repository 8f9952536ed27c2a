/**
 * The remote bridge's Streamable HTTP client for the path every message takes: each message one
 * POST through a fetch-shaped function (origin-fetch.ts's, so credentials are added where they
 * always were), the answer read as JSON or as an event stream cut by eventsource-parser, the
 * session id and protocol version sent back. The SDK's transport does the same with a
 * TextDecoderStream, a parser stream and a zod parse per message, and costs the daemon about
 * twice the CPU of this per request (BENCHMARKS.md, "Where the remote hop's time goes").
 *
 * What it does not do itself, the SDK's transport does, on the same session: the standalone GET
 * stream (opened once `notifications/initialized` is accepted) and the resumption of a POST's
 * stream that ends before its answer (a GET with Last-Event-ID after the server's retry).
 */
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { setMaxListeners } from 'node:events';
import { createParser } from 'eventsource-parser';
import type { FetchLike } from './origin-fetch.js';

type SdkTransport = InstanceType<typeof import('./sdk-transports.js').StreamableHTTPClientTransport>;

/** An HTTP answer the transport could not use; `code` is the status (-1: neither JSON nor an event stream), as the SDK's StreamableHTTPError. */
export class HttpAnswerError extends Error {
  constructor(readonly code: number, message: string) {
    super(`Streamable HTTP error: ${message}`);
  }
}

/** The SDK's reconnection schedule when the server names no retry: 1 s, then ×1.5, 2 attempts. */
const RESUME = { firstMs: 1000, grow: 1.5, attempts: 2 };
const MAX_REDIRECTS = 10;
const NEGOTIATE = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

export class LeanHttpTransport implements Transport {
  onmessage?: (message: JSONRPCMessage) => void;
  onerror?: (error: Error) => void;
  onclose?: () => void;
  readonly #url: URL;
  readonly #fetch: FetchLike;
  readonly #abort = new AbortController();
  #session: string | undefined;
  #protocol: string | undefined;
  /** The id of the initialize request sent, whose answer names the protocol version. */
  #initializeId: string | number | undefined;
  /** The server's `retry:` from any stream, in ms. */
  #retryMs: number | undefined;
  #sdk: Promise<SdkTransport> | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(url: URL, fetch: FetchLike) {
    this.#url = url;
    this.#fetch = fetch;
    // Every request in flight holds a listener on this signal until it ends (http-fetch.ts takes
    // it off then), and a burst has hundreds in flight: not a leak, so no warning at 10.
    setMaxListeners(0, this.#abort.signal);
  }

  get sessionId(): string | undefined {
    return this.#session;
  }

  get protocolVersion(): string | undefined {
    return this.#protocol;
  }

  setProtocolVersion(version: string): void {
    this.#protocol = version;
  }

  async start(): Promise<void> {}

  /** Sends one message (one POST); resolves once the server took it, its answer read as it arrives. */
  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (options?.resumptionToken !== undefined) return (await this.#delegate()).send(message, options);
    if ('method' in message && message.method === 'initialize' && 'id' in message) this.#initializeId = message.id;
    const response = await this.#post(JSON.stringify(message));
    const session = response.headers.get('mcp-session-id');
    if (session) this.#session = session;
    if (!response.ok) {
      await response.body?.cancel();
      throw new HttpAnswerError(response.status, redirectNotFollowed(response, this.#url) ?? `Error POSTing to endpoint: ${response.status}`);
    }
    const type = response.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
    if (response.status === 202 || !hasRequest(message) || !response.body) {
      await response.body?.cancel();
      if (response.status === 202 && 'method' in message && message.method === 'notifications/initialized') this.#listen();
      return;
    }
    if (type === 'text/event-stream') {
      void this.#read(response.body);
    } else if (type === 'application/json') {
      const text = await response.text();
      const parsed = this.#parse(text);
      for (const m of Array.isArray(parsed) ? parsed : parsed ? [parsed] : []) this.#deliver(m);
    } else {
      await response.body.cancel();
      throw new HttpAnswerError(-1, `Unexpected content type: ${String(response.headers.get('content-type'))}`);
    }
  }

  /** Ends the session on the server (DELETE); a server that does not allow it (405) is fine. */
  async terminateSession(): Promise<void> {
    if (!this.#session) return;
    const response = await this.#fetch(this.#url, { method: 'DELETE', headers: this.#headers({}), signal: this.#abort.signal, redirect: 'manual' });
    await response.body?.cancel();
    if (!response.ok && response.status !== 405) throw new HttpAnswerError(response.status, `Failed to terminate session: ${response.status}`);
    this.#session = undefined;
  }

  async close(): Promise<void> {
    clearTimeout(this.#timer);
    this.#abort.abort();
    const sdk = await this.#sdk?.catch(() => undefined);
    await sdk?.close();
    this.onclose?.();
  }

  #headers(base: Record<string, string>): Record<string, string> {
    const headers = { ...base };
    if (this.#session) headers['mcp-session-id'] = this.#session;
    if (this.#protocol) headers['mcp-protocol-version'] = this.#protocol;
    return headers;
  }

  /** One POST; as the SDK does, a 307 or 308 within the server's origin is followed, any other redirect returned as it is. */
  async #post(body: string): Promise<Response> {
    let url = this.#url;
    for (let hop = 0; ; hop++) {
      const response = await this.#fetch(url, { method: 'POST', headers: this.#headers(NEGOTIATE), body, signal: this.#abort.signal, redirect: 'manual' });
      const location = response.headers.get('location');
      if ((response.status !== 307 && response.status !== 308) || location === null || hop === MAX_REDIRECTS) return response;
      const next = new URL(location, url);
      if (next.origin !== this.#url.origin || next.username || next.password) return response;
      await response.body?.cancel();
      url = next;
    }
  }

  /** A POST's event stream, each message handed on as its event ends; resumed if it ends unanswered. */
  async #read(body: ReadableStream<Uint8Array>): Promise<void> {
    let lastId: string | undefined;
    let answered = false;
    const parser = createParser({
      onEvent: (event) => {
        if (event.id) lastId = event.id;
        if (!event.data || (event.event !== undefined && event.event !== 'message')) return;
        const parsed = this.#parse(event.data);
        for (const m of Array.isArray(parsed) ? parsed : parsed ? [parsed] : []) {
          if (!('method' in m)) answered = true;
          this.#deliver(m);
        }
      },
      onRetry: (ms) => { this.#retryMs = ms; },
    });
    const decoder = new TextDecoder();
    const reader = body.getReader();
    try {
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) parser.feed(decoder.decode(chunk.value, { stream: true }));
    } catch (error) {
      if (this.#abort.signal.aborted) return;
      this.onerror?.(new Error(`SSE stream disconnected: ${String(error)}`));
    }
    // The server may end a stream early after an event id; the answer is then fetched with Last-Event-ID.
    if (!answered && lastId !== undefined && !this.#abort.signal.aborted) this.#resume(lastId, 0);
  }

  /**
   * The standalone GET stream for the server's own messages, opened by the SDK's transport as it
   * opens it after `notifications/initialized` (resumeStream with no event id sends no
   * Last-Event-ID); it keeps that stream and resumes it. A server without one answers 405.
   */
  #listen(): void {
    // Its failures reach onerror through the delegate's; nothing more to do with them here.
    this.#delegate().then((sdk) => sdk.resumeStream('')).catch(() => {});
  }

  #resume(lastEventId: string, attempt: number): void {
    if (attempt >= RESUME.attempts) {
      this.onerror?.(new Error(`Maximum reconnection attempts (${RESUME.attempts}) exceeded.`));
      return;
    }
    const delay = this.#retryMs ?? RESUME.firstMs * RESUME.grow ** attempt;
    this.#timer = setTimeout(() => {
      this.#delegate().then((sdk) => sdk.resumeStream(lastEventId)).catch((error: unknown) => {
        if (this.#abort.signal.aborted) return;
        this.onerror?.(new Error(`Failed to reconnect SSE stream: ${error instanceof Error ? error.message : String(error)}`));
        this.#resume(lastEventId, attempt + 1);
      });
    }, delay);
  }

  /** The SDK's transport on this same session, for the GET streams; made on first need. */
  #delegate(): Promise<SdkTransport> {
    this.#sdk ??= (async () => {
      const { StreamableHTTPClientTransport } = await import('./sdk-transports.js');
      const sdk = new StreamableHTTPClientTransport(this.#url, { fetch: this.#fetch, sessionId: this.#session });
      if (this.#protocol) sdk.setProtocolVersion(this.#protocol);
      sdk.onmessage = (message) => this.#deliver(message);
      sdk.onerror = (error) => this.onerror?.(error);
      await sdk.start();
      return sdk;
    })();
    return this.#sdk;
  }

  /** The JSON-RPC message(s) in `text`, or undefined (reported) when it is none. */
  #parse(text: string): JSONRPCMessage | JSONRPCMessage[] | undefined {
    try {
      const value = JSON.parse(text) as unknown;
      if (Array.isArray(value) ? value.every(isMessage) : isMessage(value)) return value as JSONRPCMessage | JSONRPCMessage[];
    } catch {
      // Reported below, as for any other text that is no message.
    }
    this.onerror?.(new Error('the server sent something that is not a JSON-RPC message'));
    return undefined;
  }

  #deliver(message: JSONRPCMessage): void {
    if (this.#initializeId !== undefined && 'id' in message && message.id === this.#initializeId && 'result' in message) {
      const version = (message.result as { protocolVersion?: unknown }).protocolVersion;
      if (typeof version === 'string') this.#protocol = version;
      this.#initializeId = undefined;
    }
    this.onmessage?.(message);
  }
}

/** Whether the server answers the message (a request) in the POST's body. */
function hasRequest(message: JSONRPCMessage | JSONRPCMessage[]): boolean {
  return (Array.isArray(message) ? message : [message]).some((m) => 'method' in m && 'id' in m && m.id !== undefined);
}

/**
 * The shape of a JSON-RPC message, not the whole schema the SDK parses with zod: the daemon's
 * session reads what it needs of the message, and the host's own client validates it.
 */
function isMessage(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { jsonrpc?: unknown }).jsonrpc === '2.0';
}

/** The text for a redirect left unfollowed (its target without userinfo, query or fragment), as the SDK words it. */
function redirectNotFollowed(response: Response, from: URL): string | undefined {
  const location = response.headers.get('location');
  if (response.status < 300 || response.status > 399 || location === null) return undefined;
  const target = new URL(location, from);
  target.username = target.password = target.search = target.hash = '';
  return `Redirect to ${target.href} not followed`;
}
