/**
 * MCP Streamable HTTP spoken by hand, for what the SDK's client hides: a request on a Unix
 * socket or over HTTPS with a test CA, exact headers (another subject's token, a foreign
 * Origin), and an SSE stream read event by event and dropped mid-way.
 */
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createParser } from 'eventsource-parser';

/** Where the listener is: a Unix socket, or a TCP port (HTTPS when `ca` is given). */
export type Target = { readonly socketPath: string } | { readonly port: number; readonly ca?: Buffer };

export interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

export interface SseEvent {
  readonly id: string | undefined;
  readonly data: string;
}

/** The headers a Streamable HTTP client sends with a POST. */
export const POST_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

export const INITIALIZE = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'mcp-http-test', version: '1' } } };

function open(target: Target, method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<IncomingMessage> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const all = { ...(text === undefined ? {} : { 'content-length': String(Buffer.byteLength(text)) }), ...headers };
  return new Promise((resolve, reject) => {
    const options = { method, path, headers: all, agent: false as const };
    const req = 'socketPath' in target
      ? httpRequest({ ...options, socketPath: target.socketPath }, resolve)
      : target.ca
        ? httpsRequest({ ...options, host: '127.0.0.1', port: target.port, ca: target.ca, servername: 'localhost' }, resolve)
        : httpRequest({ ...options, host: '127.0.0.1', port: target.port }, resolve);
    req.on('error', reject);
    req.end(text);
  });
}

/** One request, its whole answer read. */
export async function send(target: Target, method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Answer> {
  const res = await open(target, method, path, headers, body);
  let text = '';
  for await (const chunk of res.setEncoding('utf8')) text += chunk as string;
  return { status: res.statusCode ?? 0, headers: res.headers, text };
}

/** The JSON-RPC messages of an SSE answer (a whole one, read by `send`). */
export function messagesOf(answer: Answer): Array<Record<string, unknown>> {
  const found: Array<Record<string, unknown>> = [];
  const parser = createParser({ onEvent: (event) => { if (event.data) found.push(JSON.parse(event.data) as Record<string, unknown>); } });
  parser.feed(answer.text);
  return found;
}

/** An SSE answer read event by event; `drop` destroys its connection, as a network failure would. */
export class SseStream {
  readonly #events: SseEvent[] = [];
  #waiting: (() => void) | undefined;
  #ended = false;

  private constructor(readonly res: IncomingMessage) {
    const parser = createParser({ onEvent: (event) => this.#push({ id: event.id, data: event.data }) });
    res.setEncoding('utf8').on('data', (chunk: string) => parser.feed(chunk));
    res.on('close', () => { this.#ended = true; this.#wake(); });
  }

  static async open(target: Target, method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<SseStream> {
    return new SseStream(await open(target, method, path, headers, body));
  }

  get status(): number {
    return this.res.statusCode ?? 0;
  }

  /** The next event with data (priming events carry none); undefined once the stream has ended. */
  async next(): Promise<SseEvent | undefined> {
    for (;;) {
      const event = this.#events.shift();
      if (event) {
        this.lastId = event.id ?? this.lastId;
        if (event.data) return event;
        continue;
      }
      if (this.#ended) return undefined;
      await new Promise<void>((resolve) => { this.#waiting = resolve; });
    }
  }

  /** The id of the last event taken, for Last-Event-ID. */
  lastId: string | undefined;

  drop(): void {
    this.res.socket.destroy();
  }

  #push(event: SseEvent): void {
    this.#events.push(event);
    this.#wake();
  }

  #wake(): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.();
  }
}
