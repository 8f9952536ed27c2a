/**
 * `/mcp/NAME` on a listener: every configured server as an MCP Streamable HTTP endpoint
 * (README "Serving over HTTP"). Each request is authenticated (the listener's one call to
 * `authenticate`; who may launch NAME is openSession's requireLaunch) and each JSON-RPC request
 * in a POST is counted against its subject's rate (a 429 with Retry-After); an initialize without a session id opens an mcpd
 * Session through the same `openSession` as a WebSocket session (policy, audit, rollover,
 * limits, `mcpd sessions`); later requests find their HttpSession by Mcp-Session-Id, and only
 * when the same subject sends them. The protocol itself (POST, GET, DELETE, SSE, resumption,
 * MCP-Protocol-Version) is the SDK's transport.
 *
 * Refusals before a session are ErrorBodies with the WebSocket routes' statuses (a 401 with
 * WWW-Authenticate); the protocol's own errors are JSON-RPC errors, as the SDK writes them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { McpdError } from '../../core/errors.js';
import type { Principal } from '../auth/scopes.js';
import type { Refusal } from '../server/refusal-tally.js';
import { challenged, errorBody, statusOf } from '../server/error-body.js';
import type { SocketHandlers } from '../server/http.js';
import { HttpSession } from './http-session.js';

export const MCP_PATH = '/mcp/';

/** An HTTP session with no request and no open stream for this long is ended (and its server with it). */
export const DEFAULT_IDLE_MS = 30 * 60_000;

export interface GatewayOptions {
  readonly idleMs: number;
  /** How status names the listener, for the refusal tally. */
  readonly listener: () => string;
}

export class Gateway {
  readonly #handlers: SocketHandlers;
  readonly #options: GatewayOptions;
  readonly #sessions = new Map<string, HttpSession>();
  /** The SDK's transport, loaded at the first request: a daemon nobody asks over HTTP never pays for it. */
  #sdk: Promise<typeof import('./sdk-server.js')> | undefined;

  constructor(handlers: SocketHandlers, options: GatewayOptions) {
    this.#handlers = handlers;
    this.#options = options;
  }

  /** How many HTTP sessions are open. */
  get size(): number {
    return this.#sessions.size;
  }

  /** Serves one request to `/mcp/NAME`; every failure is answered, never thrown. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      await this.#route(req, res);
    } catch (error) {
      this.#refuse(req, res, error);
    }
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://mcpd');
    const name = serverName(url.pathname);
    // Awaited: the listener's chain of providers may answer later.
    const principal = await this.#handlers.authenticate(req, url);
    const read = async () => this.#withinRate(principal, name, res, await readJson(req, res, this.#handlers.maxMessageBytes));
    const id = req.headers['mcp-session-id'];
    if (typeof id === 'string') {
      const known = this.#sessions.get(id);
      // Another subject's id is as good as none: it learns nothing of the session.
      if (!known || known.subject !== principal.subject || known.server !== name) return rpcError(res, 404, -32001, 'Session not found');
      // Roles come with each request (a refreshed JWT's claim, a proxy's groups): a session keeps
      // the rights it was opened with, so one whose subject now has others ends, and the client
      // opens a new one under its current roles.
      if (!known.heldBy(principal.roles)) {
        this.#handlers.note('gateway.roles-changed', { server: name, subject: principal.subject });
        await known.close();
        return rpcError(res, 404, -32001, 'Session not found: your roles changed since it was opened; start a new session');
      }
      if (req.method !== 'POST') return known.handle(req, res, undefined);
      return known.post(req, res, read);
    }
    if (req.method !== 'GET' && req.method !== 'POST' && req.method !== 'DELETE') {
      res.writeHead(405, { allow: 'GET, POST, DELETE', 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null }));
      return;
    }
    if (req.method !== 'POST') return rpcError(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
    const body = await read();
    if (body === undefined) return;
    // Only an initialize starts a server: anything else without a session id is the client's mistake.
    if (!isInitialize(body)) return rpcError(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
    const http = new HttpSession({
      sdk: await (this.#sdk ??= import('./sdk-server.js')),
      subject: principal.subject,
      roles: principal.roles,
      server: name,
      idleMs: this.#options.idleMs,
      maxBodyBytes: this.#handlers.maxMessageBytes,
      onStart: (self, sessionId) => this.#sessions.set(sessionId, self),
      onEnd: (self) => {
        if (self.id !== undefined && this.#sessions.get(self.id) === self) this.#sessions.delete(self.id);
      },
      note: this.#handlers.note,
    });
    const client = typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'].slice(0, 80) : undefined;
    http.attach(await this.#handlers.openSession(name, http.link, client, heldBySubject(principal)));
    // The client gave up while its server was starting: no one would end that server but the idle timeout.
    if (res.destroyed) return http.close();
    await http.handle(req, res, body);
    // The transport refused the initialize (a wrong Accept or Content-Type): no session began, so no server runs on.
    if (http.id === undefined) await http.close();
  }

  /** `body` when each JSON-RPC request in it is within the subject's rate; else undefined, answered 429 with Retry-After. */
  #withinRate(principal: Principal, server: string, res: ServerResponse, body: unknown): unknown {
    if (body === undefined) return undefined;
    for (const message of Array.isArray(body) ? body : [body]) {
      if (!isRequest(message)) continue;
      const refused = this.#handlers.takeRequest(principal, server);
      if (!refused) continue;
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': refused.retryAfter }).end(JSON.stringify(errorBody(refused.error)));
      return undefined;
    }
    return body;
  }

  #refuse(req: IncomingMessage, res: ServerResponse, error: unknown): void {
    const body = errorBody(error);
    const status = statusOf(body);
    const refusal: Refusal = { listener: this.#options.listener(), peer: req.socket.remoteAddress ?? 'unix', route: (req.url ?? '/').split('?')[0]!.slice(0, 100), status, code: body.error.code, message: body.error.message };
    this.#handlers.refused(refusal);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const authenticate = challenged(error, status) ? this.#handlers.challenge(error, req, new URL(req.url ?? '/', 'http://mcpd')) : undefined;
    res.writeHead(status, { 'content-type': 'application/json', ...(authenticate ? { 'www-authenticate': authenticate } : {}) }).end(JSON.stringify(body));
  }
}

/**
 * Who an HTTP session is bound to. An MCP client refreshes its JWT and keeps its Mcp-Session-Id,
 * and every request here is verified again (an expired token's gets 401): the session outlives
 * its first token, held by the subject. A client token cannot be refreshed: its expiry or
 * revocation ends the session, as a WebSocket session's does.
 */
function heldBySubject(principal: Principal): Principal {
  if (principal.kind !== 'jwt') return principal;
  const { expiresAt: _first, ...held } = principal;
  return held;
}

/** The server name of `/mcp/NAME`, percent-decoded; a bad escape is the client's error, not a 500. */
function serverName(pathname: string): string {
  const encoded = pathname.slice(MCP_PATH.length);
  try {
    const name = decodeURIComponent(encoded);
    if (name !== '' && !name.includes('/')) return name;
  } catch {
    // reported below
  }
  throw new McpdError('NOT_FOUND', `no route ${pathname.slice(0, 100)}: the HTTP endpoint of a server is ${MCP_PATH}NAME`, {
    hint: `name one server of the config, percent-encoded, e.g. ${MCP_PATH}github (mcpd ls lists them)`,
  });
}

/** A JSON-RPC request (a method and an id), as opposed to a notification or a response. */
function isRequest(message: unknown): boolean {
  return typeof message === 'object' && message !== null && typeof (message as { method?: unknown }).method === 'string' && (message as { id?: unknown }).id !== undefined;
}

function isInitialize(body: unknown): boolean {
  return typeof body === 'object' && body !== null && !Array.isArray(body) && (body as { method?: unknown }).method === 'initialize';
}

/** A protocol error as the SDK's transport writes its own: a JSON-RPC error with no id. */
function rpcError(res: ServerResponse, status: number, code: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

/**
 * A POST's body, parsed once here (the transport takes it parsed); undefined, with the answer
 * sent, when it is too large or not JSON. The limit is the daemon's maxMessageBytes.
 */
async function readJson(req: IncomingMessage, res: ServerResponse, max: number): Promise<unknown> {
  const tooLarge = () => rpcError(res, 413, -32000, `Payload Too Large: Request body must not exceed ${max} bytes`);
  if (Number(req.headers['content-length']) > max) return tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) return tooLarge();
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks, size).toString()) as unknown;
  } catch {
    return rpcError(res, 400, -32700, 'Parse error: Invalid JSON');
  }
}
