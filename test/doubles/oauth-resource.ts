/**
 * The protected MCP server of the OAuth test DOUBLE (see oauth-server.ts): the SDK's `McpServer`
 * over its `StreamableHTTPServerTransport`, one per session (stateful, `Mcp-Session-Id`), reached
 * only through the SDK's bearer check. Tools:
 *
 * - `whoami`: `{"clientId", "scopes", "serial"}` of the token the call carried (serial: the access
 *   token's issue number, 1 for the first; so a test sees rotation without the value), never the token;
 * - `admin-only`: needs scope `admin`. Without it the call never reaches the transport: the
 *   answer is HTTP 403 with `WWW-Authenticate: Bearer error="insufficient_scope", scope="<held> admin"`,
 *   the step-up challenge of the MCP authorization spec.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';

export const ADMIN_SCOPE = 'admin';

/** A request as it leaves express.json() and the SDK's requireBearerAuth. */
export type AuthedRequest = IncomingMessage & { body?: unknown; auth?: AuthInfo };

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

// A JSON-RPC body may be one message or a batch; the step-up check must see every call in it.
function callsAdminOnly(body: unknown): boolean {
  const messages = Array.isArray(body) ? body : [body];
  return messages.some((message) => isObject(message) && message.method === 'tools/call'
    && isObject(message.params) && message.params.name === 'admin-only');
}

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

function toolText(value: unknown) {
  return { content: [{ type: 'text' as const, text: JSON.stringify(value) }] };
}

function whoami(auth: AuthInfo | undefined) {
  return { clientId: auth?.clientId, scopes: auth?.scopes ?? [], serial: auth?.extra?.serial };
}

function mcpServer(): McpServer {
  const server = new McpServer({ name: 'oauth-double', version: '1.0.0' });
  server.registerTool('whoami', { description: 'The client and scopes of the token this call carried' },
    (extra) => toolText(whoami(extra.authInfo)));
  server.registerTool('admin-only', { description: 'Answers only to a token holding the admin scope' },
    (extra) => toolText({ admin: true, ...whoami(extra.authInfo) }));
  return server;
}

/** The MCP endpoint behind the bearer check: sessions, the step-up check, and what it saw. */
export class McpResource {
  /** 403 insufficient_scope answers sent. */
  stepUps = 0;
  /** Sessions opened (initialize requests accepted). */
  sessionsOpened = 0;
  readonly #sessions = new Map<string, StreamableHTTPServerTransport>();
  readonly #resourceMetadataUrl: string;

  constructor(resourceMetadataUrl: string) {
    this.#resourceMetadataUrl = resourceMetadataUrl;
  }

  /** Middleware: answers 403 insufficient_scope to a call of admin-only by a token without `admin`. */
  readonly stepUp = (req: AuthedRequest, res: ServerResponse, next: () => void): void => {
    const scopes = req.auth?.scopes ?? [];
    if (scopes.includes(ADMIN_SCOPE) || !callsAdminOnly(req.body)) {
      next();
      return;
    }
    this.stepUps++;
    const wanted = [...scopes, ADMIN_SCOPE].join(' ');
    const challenge = `Bearer error="insufficient_scope", scope="${wanted}", resource_metadata="${this.#resourceMetadataUrl}", error_description="admin-only needs the admin scope"`;
    reply(res, 403, { error: 'insufficient_scope', error_description: 'admin-only needs the admin scope' }, { 'www-authenticate': challenge });
  };

  /** Handler: routes a request to its session's transport, opening a session on initialize. */
  readonly handle = async (req: AuthedRequest, res: ServerResponse): Promise<void> => {
    const id = req.headers['mcp-session-id'];
    let transport = typeof id === 'string' ? this.#sessions.get(id) : undefined;
    if (typeof id === 'string' && !transport) {
      reply(res, 404, { jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
      return;
    }
    if (!transport) {
      if (req.method !== 'POST' || !isInitializeRequest(req.body)) {
        reply(res, 400, { jsonrpc: '2.0', error: { code: -32000, message: 'No session: send initialize first' }, id: null });
        return;
      }
      transport = await this.#open();
    }
    await transport.handleRequest(req, res, req.body);
  };

  /** Closes every open session. */
  async close(): Promise<void> {
    await Promise.all([...this.#sessions.values()].map((transport) => transport.close()));
  }

  async #open(): Promise<StreamableHTTPServerTransport> {
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        this.sessionsOpened++;
        this.#sessions.set(id, transport);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) this.#sessions.delete(transport.sessionId);
    };
    await mcpServer().connect(transport);
    return transport;
  }
}
