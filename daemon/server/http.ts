/**
 * The socket's HTTP side: routes an upgrade to a session or the control channel, a plain
 * request to `/mcp/NAME` to the Streamable HTTP gateway (daemon/gateway/), one for the `oauth`
 * provider's authorization server to it (daemon/auth/oauth/), and refuses
 * anything else before the upgrade, with an HTTP status and a JSON ErrorBody, so a client
 * learns why without speaking WebSocket.
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { McpdError } from '../../core/errors.js';
import type { Principal } from '../auth/scopes.js';
import { CLOSE, CONTROL_PATH, NOTICES_HEADER, SESSION_PATH, STREAM_CHUNK_BYTES, STREAM_HEADER } from '../protocol.js';
import type { ClientLink } from '../session/client-link.js';
import type { Session } from '../session/session.js';
import { DEFAULT_IDLE_MS, Gateway, MCP_PATH } from '../gateway/gateway.js';
import { isMetadataPath } from '../gateway/resource-metadata.js';
import { challenged, errorBody, statusOf } from './error-body.js';
import type { Refusal } from './refusal-tally.js';
import { checkHostAndOrigin } from './host-check.js';
import { streamInput } from './stream-input.js';
import { WebSocketLink } from './ws-link.js';

export interface SocketHandlers {
  readonly maxMessageBytes: number;
  /** Creates a session and starts its server; rejects with an McpdError to refuse the connection. */
  openSession(name: string, link: ClientLink, client: string | undefined, principal: Principal): Promise<Session>;
  /** Serves one control connection; each method checks the principal's scopes. */
  control(ws: WebSocket, principal: Principal): void;
  /** Who the request is, by this listener's chain of providers (daemon/auth/providers/chain.ts); rejects with a 401 or 403 McpdError. */
  authenticate(req: IncomingMessage, url: URL): Promise<Principal>;
  /** The `WWW-Authenticate` value a 401 (or 403 SCOPE_INSUFFICIENT) carrying `refusal` for the request to `url` sends, if any (the chain's challenge). */
  challenge(refusal: McpdError, req?: IncomingMessage, url?: URL): string | undefined;
  /** The RFC 9728 metadata of the endpoint `url` names (daemon/gateway/resource-metadata.ts); undefined: none (404). */
  resourceMetadata?(req: IncomingMessage, url: URL): Record<string, unknown> | undefined;
  /** Answers a plain request for a path of the chain's own (the `oauth` authorization server's); false when it is not one. */
  serveAuth?(req: IncomingMessage, res: ServerResponse): boolean;
  /** Counts one request of `principal` to `server` (as the route names it) against its rate (daemon/auth/limits.ts); the refusal, with its Retry-After in seconds, when over it. */
  takeRequest(principal: Principal, server: string): { readonly error: McpdError; readonly retryAfter: string } | undefined;
  /** Logs a protocol error (never a value). */
  note(event: string, fields: Record<string, unknown>): void;
  /** Counts a refusal before the upgrade (a RefusalTally: anyone who can connect can send them). */
  refused(refusal: Refusal): void;
}

export interface ListenerOptions {
  /** A TCP listener: names besides loopback its requests' Host and Origin may carry, and how errors name it. */
  readonly tcp?: { readonly allowedHosts: readonly string[]; readonly where: string };
  /** HTTPS: the certificate chain and private key, PEM (daemon/server/tls.ts read them). */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  /** How long an HTTP session (/mcp/NAME) may sit with no request and no open stream. */
  readonly idleMs?: number;
}

/** What a session asked for in its query: stderr (`?stderr=1`), with notices (`&notices=1`), as a stream (`&stream=1`). */
function sessionOptions(path: string | undefined): { stderr: boolean; notices: boolean; stream: boolean } {
  const query = new URL(path ?? '/', 'http://mcpd').searchParams;
  const stderr = query.get('stderr') === '1';
  return { stderr, notices: stderr && query.get('notices') === '1', stream: query.get('stream') === '1' };
}

/** The socket's HTTP server; `handlers.authenticate` is this listener's chain, `options` for the extra listeners. */
export function createSocketServer(handlers: SocketHandlers, options: ListenerOptions = {}): Server {
  const { tcp, tls, idleMs = DEFAULT_IDLE_MS } = options;
  // A stream's pieces may be longer than a small daemon.maxMessageBytes; a text message is held to it below.
  const wss = new WebSocketServer({ noServer: true, maxPayload: Math.max(handlers.maxMessageBytes, STREAM_CHUNK_BYTES), perMessageDeflate: false });
  // The 101 says what is on: a client then reads each binary message's kind byte (NOTICES_HEADER), and speaks a stream (STREAM_HEADER).
  wss.on('headers', (headers, req) => {
    const { notices, stream } = sessionOptions(req.url);
    if (notices) headers.push(`${NOTICES_HEADER}: 1`);
    if (stream) headers.push(`${STREAM_HEADER}: 1`);
  });
  const gateway = new Gateway(handlers, { idleMs, listener: () => listenerName(server) });
  const serve: RequestListener = (req, res) => {
    let error: McpdError;
    try {
      if (tcp) checkHostAndOrigin(req, tcp.allowedHosts, tcp.where);
      if (req.url?.startsWith(MCP_PATH)) return void gateway.handle(req, res);
      const url = new URL(req.url ?? '/', 'http://mcpd');
      const metadata = isMetadataPath(url.pathname) && (req.method === 'GET' || req.method === 'HEAD') ? handlers.resourceMetadata?.(req, url) : undefined;
      // Public by design (RFC 9728): anyone may learn which authorization server to ask.
      if (metadata) return void res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' }).end(JSON.stringify(metadata));
      if (handlers.serveAuth?.(req, res)) return;
      error = req.url?.startsWith('/v1/') ? notWebSocket(req) : notFound(req);
    } catch (refusal) {
      error = refusal as McpdError;
    }
    const body = errorBody(error);
    const status = statusOf(body);
    // Counted like an upgrade's refusal: a page that cannot upgrade can still send requests.
    if (error.code === 'REFUSED') handlers.refused({ listener: listenerName(server), peer: peerOf(req), route: pathOf(req), status, code: error.code, message: error.message });
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const server: Server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, serve) : createServer(serve);
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    void route(req, socket, head).catch((error: unknown) => refuse(socket, error, req, handlers, (refusal) => handlers.refused({ ...refusal, listener: listenerName(server) })));
  });

  async function route(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (tcp) checkHostAndOrigin(req, tcp.allowedHosts, tcp.where);
    const url = new URL(req.url ?? '/', 'http://mcpd');
    if (req.headers.upgrade?.toLowerCase() !== 'websocket' || !req.headers['sec-websocket-key']) throw notWebSocket(req);
    const principal = await handlers.authenticate(req, url);
    if (url.pathname === CONTROL_PATH) {
      wss.handleUpgrade(req, socket, head, (ws) => {
        // A frame ws cannot accept (bad RSV bits, an unmasked frame) is an 'error' on the socket,
        // which ws then closes with 1002: without a listener it would end the whole daemon.
        ws.on('error', (error) => handlers.note('control.error', { error: error.message }));
        handlers.control(ws, principal);
      });
      return;
    }
    if (!url.pathname.startsWith(SESSION_PATH)) throw notFound(req);
    const name = serverName(req, url.pathname.slice(SESSION_PATH.length));
    // Who may launch it is openSession's to decide (auth/launch.ts), for every route alike.
    const options = sessionOptions(req.url);
    const link = new WebSocketLink(options);
    const client = typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'].slice(0, 80) : undefined;
    const session = await handlers.openSession(name, link, client, principal);
    let attached = false;
    wss.handleUpgrade(req, socket, head, (ws) => {
      attached = true;
      attach(ws, socket, session, link, options.stream);
    });
    // ws completes or refuses an upgrade synchronously. One it refused (a handshake it finds
    // malformed, a client that gave up while the server was starting) never reaches attach:
    // without this its server would run on with no client to end it.
    if (!attached) await session.clientClosed();
  }

  function attach(ws: WebSocket, socket: Duplex, session: Session, link: WebSocketLink, stream: boolean): void {
    link.attach(ws, socket);
    const input = stream ? streamInput(session, handlers.maxMessageBytes, { close: (code, reason) => link.close(code, reason), note: handlers.note }) : undefined;
    ws.on('message', (data, isBinary) => {
      if (input) return input(data as Buffer, isBinary);
      if (isBinary) {
        handlers.note('session.refused-binary', { session: session.id, server: session.server });
        ws.close(CLOSE.unsupportedData, 'binary messages are not accepted: send each JSON-RPC message as a text message');
        return;
      }
      if ((data as Buffer).length > handlers.maxMessageBytes) {
        handlers.note('session.message-too-big', { session: session.id, server: session.server, maxBytes: handlers.maxMessageBytes });
        return ws.close(CLOSE.tooBig, `a message is longer than ${handlers.maxMessageBytes} bytes (daemon.maxMessageBytes)`);
      }
      session.fromClient(data as Buffer);
    });
    ws.on('error', (error) => handlers.note('session.error', { session: session.id, server: session.server, error: error.message }));
    ws.once('close', () => void session.clientClosed());
  }

  return server;
}

/** The request's path without its query string, which may hold a token and is never echoed or logged. */
function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0]!.slice(0, 100);
}

/** The server name of a session path, percent-decoded; a bad escape is the client's error, not a 500. */
function serverName(req: IncomingMessage, encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw new McpdError('USAGE', `the server name in ${pathOf(req)} is not valid percent-encoding`, {
      hint: 'encode the name with encodeURIComponent (mcpd run and the mcpd/client module do)',
    });
  }
}

function notFound(req: IncomingMessage): McpdError {
  return new McpdError('NOT_FOUND', `no route ${req.method ?? 'GET'} ${pathOf(req)}`, {
    hint: `the socket serves ${SESSION_PATH}NAME and ${CONTROL_PATH} as WebSocket upgrades, and ${MCP_PATH}NAME over MCP Streamable HTTP`,
  });
}

function notWebSocket(req: IncomingMessage): McpdError {
  return new McpdError('USAGE', `${pathOf(req)} is served over WebSocket only`, {
    hint: 'send an HTTP upgrade to WebSocket (mcpd run and the mcpd/client module do)',
  });
}

/** How status names a listener: `unix:PATH` or `tcp:HOST:PORT`. */
function listenerName(server: Server): string {
  const address = server.address() as AddressInfo | string | null;
  if (address === null) return 'unbound';
  return typeof address === 'string' ? `unix:${address}` : `tcp:${address.address}:${address.port}`;
}

/** Who sent a request: Node cannot read a unix socket's peer credentials; the remote address is all a TCP one has. */
function peerOf(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unix';
}

function refuse(socket: Duplex, error: unknown, req: IncomingMessage, handlers: SocketHandlers, record: (refusal: Omit<Refusal, 'listener'>) => void): void {
  const body = errorBody(error);
  const status = statusOf(body);
  record({ peer: peerOf(req), route: pathOf(req), status, code: body.error.code, message: body.error.message });
  if (socket.destroyed) return;
  const text = JSON.stringify(body);
  // A 401 says how to authenticate (RFC 9110 §11.6.1): the listener's chain knows.
  const challenge = challenged(error, status) ? handlers.challenge(error, req, new URL(req.url ?? '/', 'http://mcpd')) : undefined;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${challenge ? `WWW-Authenticate: ${challenge}\r\n` : ''}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}
