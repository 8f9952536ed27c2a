/**
 * One MCP session with a remote server: Streamable HTTP (each message a POST through mcpd's own
 * lean client, lean-http.ts, which leaves the GET streams and their resumption with Last-Event-ID
 * and the server's retry to the SDK's transport; DELETE on close), or the SDK's legacy SSE transport for `type: "sse"`, or when a Streamable HTTP attempt is
 * answered as an SSE server would answer it (the SDK's documented fallback: a 4xx to the first
 * POST, then a GET that opens an event stream). Shared by the daemon (remote-instance.ts) and
 * `mcpd run --no-daemon` (cli/commands/run-remote.ts).
 *
 * The SDK is loaded on the first connection, never on a local server's path.
 */
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { McpdError } from '../../core/errors.js';
import { httpFetch } from './http-fetch.js';
import { LeanHttpTransport } from './lean-http.js';
import { type FetchLike, originFetch } from './origin-fetch.js';
import { hasAuthorization, type PreparedRemote } from './prepare-remote.js';
import { type Credentials, networkError, notMcp, remoteError, type RemoteSubject } from './remote-errors.js';
import { perRequestSignals } from './request-signals.js';
import { staticHeaders, type TokenSource } from './token-source.js';

export interface LinkEvents {
  /** A message from the server. */
  message(message: JSONRPCMessage): void;
  /** Something went wrong outside a request (a stream dropped and could not be resumed); not fatal by itself. */
  warning(error: McpdError): void;
}

/** Statuses to the first POST that mean "not a Streamable HTTP endpoint; maybe SSE" (the SDK's fallback rule). */
const FALLBACK = new Set([400, 404, 405]);

export class RemoteLink {
  readonly #spec: PreparedRemote;
  readonly #events: LinkEvents;
  readonly #subject: RemoteSubject;
  readonly #fetch: FetchLike;
  readonly #credentials: Credentials;
  /** The transport once the first message found one that works. */
  #ready: Promise<Transport> | undefined;
  #transport: Transport | undefined;
  #closed = false;
  /** Whether a first message went through: only then are the SDK's stream errors worth a warning. */
  #connected = false;
  /** The last network failure: EventSource reports a failed GET by its text alone. */
  #lastNetwork: McpdError | undefined;

  constructor(spec: PreparedRemote, events: LinkEvents, source: TokenSource = staticHeaders(spec.headers), base: FetchLike = httpFetch) {
    this.#spec = spec;
    this.#events = events;
    this.#subject = { name: spec.name, url: spec.url };
    this.#credentials = hasAuthorization(spec.headers) ? 'header' : source.refused ? 'sign-in' : 'none';
    // Network failures become McpdErrors where fetch throws them: EventSource would keep only their text.
    const classified: FetchLike = (url, init) => base(url, init).catch((error: unknown) => {
      const network = networkError(error, { name: spec.name, url: String(url) });
      if (network) this.#lastNetwork = network;
      throw network ?? error;
    });
    // httpFetch takes its abort listener off a shared signal when a request ends; fetch does not.
    this.#fetch = originFetch(spec.url, source, base === httpFetch ? classified : perRequestSignals(classified));
  }

  /** Whether the first message went through: there is a remote session. */
  get connected(): boolean {
    return this.#connected;
  }

  /** Which transport the session runs on, once the first message went through. */
  get transport(): 'http' | 'sse' | undefined {
    const t = this.#transport;
    return t === undefined || !this.#connected ? undefined : t.constructor.name === 'SSEClientTransport' ? 'sse' : 'http';
  }

  /** The Streamable HTTP session's id, once the server gave one: a 404 to a request carrying it means the server ended the session. */
  get sessionId(): string | undefined {
    return this.#connected ? (this.#transport as { sessionId?: string } | undefined)?.sessionId : undefined;
  }

  /**
   * Sends one message; the first one picks the transport. Rejects with an McpdError naming the
   * server and URL when it could not be delivered (or, for a request, answered).
   */
  async send(message: JSONRPCMessage): Promise<void> {
    if (this.#closed) throw new McpdError('REMOTE_FAILED', `server "${this.#spec.name}": the connection to ${this.#spec.url} is closed`);
    if (!this.#ready) {
      this.#ready = this.#connect(message);
      await this.#ready;
      this.#connected = true;
      return;
    }
    const transport = await this.#ready;
    try {
      await transport.send(message);
    } catch (error) {
      throw this.#explain(error);
    }
  }

  /** Ends the session: the server is told (DELETE, for Streamable HTTP) and the streams close. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const transport = await this.#ready?.catch(() => undefined);
    if (!transport) return;
    const terminate = (transport as { terminateSession?: () => Promise<void> }).terminateSession;
    await terminate?.call(transport).catch(() => {});
    await transport.close().catch(() => {});
  }

  async #connect(first: JSONRPCMessage): Promise<Transport> {
    if (this.#spec.transport === 'sse') return this.#sse(first, undefined);
    const transport = this.#wire(new LeanHttpTransport(new URL(this.#spec.url), this.#fetch));
    await transport.start();
    try {
      await transport.send(first);
      return transport;
    } catch (error) {
      await transport.close().catch(() => {});
      const status = (error as { code?: unknown }).code;
      if (typeof status === 'number' && FALLBACK.has(status)) return this.#sse(first, `its POST was answered ${status}`);
      // -1: the SDK's "unexpected content type" (a web page answering 200).
      if (status === -1) return this.#sse(first, 'its POST was answered with neither JSON nor an event stream');
      throw this.#explain(error);
    }
  }

  /** The legacy transport: a GET that must open an event stream and name the endpoint to POST to. */
  async #sse(first: JSONRPCMessage, httpTried: string | undefined): Promise<Transport> {
    const { SSEClientTransport } = await import('./sdk-transports.js');
    const transport = this.#wire(new SSEClientTransport(new URL(this.#spec.url), { fetch: this.#fetch }));
    try {
      await transport.start();
    } catch (error) {
      await transport.close().catch(() => {});
      if (this.#lastNetwork) throw this.#lastNetwork;
      const status = (error as { code?: unknown }).code;
      const explained = this.#explain(error);
      if (explained.code !== 'REMOTE_FAILED' || typeof status !== 'number') throw explained;
      const sse = `its GET for an event stream was answered ${status}`;
      throw notMcp(this.#subject, httpTried === undefined ? sse : `${httpTried} (not Streamable HTTP) and ${sse} (not the legacy SSE transport)`);
    }
    try {
      await transport.send(first);
    } catch (error) {
      await transport.close().catch(() => {});
      throw this.#explain(error);
    }
    return transport;
  }

  #wire<T extends Transport>(transport: T): T {
    this.#transport = transport;
    transport.onmessage = (message) => {
      if (!this.#closed && this.#transport === transport) this.#events.message(message);
    };
    transport.onerror = (error) => {
      // A failed send is reported by send() itself; this is for the streams the SDK keeps.
      if (!this.#closed && this.#transport === transport && this.#connected) this.#events.warning(this.#explain(error));
    };
    return transport;
  }

  #explain(error: unknown): McpdError {
    return remoteError(error, this.#subject, this.#credentials);
  }
}
