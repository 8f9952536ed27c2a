/**
 * A remote MCP server test DOUBLE that ends its sessions when told (server-everything cannot):
 * the SDK's McpServer behind its StreamableHTTPServerTransport on 127.0.0.1, port 0, one
 * transport per session as a real server keeps them, with one tool, `echo`.
 *
 * - `forget()` drops every session as a restart or an expiry would: their streams close, and a
 *   request carrying a forgotten session id is answered 404 (the MCP spec's rule);
 * - `refuseAll = true` answers every request 404, a new initialize too (a server that ends each
 *   session at once).
 *
 * Every request is recorded (HTTP method, JSON-RPC method, session id, status, Authorization
 * header) so tests see what reached the server and in which session.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

export interface SeenRequest {
  /** GET, POST or DELETE. */
  readonly http: string;
  /** The JSON-RPC method of a POST's message, if it has one. */
  readonly rpc: string | undefined;
  readonly session: string | undefined;
  readonly authorization: string | undefined;
  /** The status answered; 0 until the answer's head is written. */
  readonly status: number;
}

export interface ForgetfulMcp {
  /** http://127.0.0.1:PORT/mcp */
  readonly url: string;
  readonly seen: readonly SeenRequest[];
  /** Initialize requests answered with a new session. */
  readonly initializes: number;
  /** While true, every request is answered 404. */
  refuseAll: boolean;
  /** Ends every session: their streams close, and their ids are answered 404 from now on. */
  forget(): Promise<void>;
  stop(): Promise<void>;
}

const NOT_FOUND = JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });

/** Starts the double on a loopback port. */
export async function startForgetfulMcp(): Promise<ForgetfulMcp> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const seen: SeenRequest[] = [];
  let initializes = 0;

  const open = async (req: IncomingMessage, res: ServerResponse, body: unknown) => {
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(), onsessioninitialized: (id) => void sessions.set(id, transport) });
    const server = new McpServer({ name: 'forgetful-double', version: '1.0.0' });
    server.registerTool('echo', { description: 'Echoes its message', inputSchema: { message: z.string() } }, ({ message }) => ({ content: [{ type: 'text', text: `echo: ${message}` }] }));
    await server.connect(transport);
    initializes += 1;
    await transport.handleRequest(req, res, body);
  };

  const double = {
    url: '',
    seen,
    get initializes() {
      return initializes;
    },
    refuseAll: false,
    forget: async () => {
      const ended = [...sessions.values()];
      sessions.clear();
      await Promise.all(ended.map((t) => t.close()));
    },
    stop: async () => {
      await double.forget();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };

  const http: Server = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      const body = text === '' ? undefined : (JSON.parse(text) as unknown);
      const session = req.headers['mcp-session-id'] as string | undefined;
      const rpc = body && typeof body === 'object' && 'method' in body ? String(body.method) : undefined;
      seen.push({ http: req.method ?? '', rpc, session, authorization: req.headers.authorization, get status() { return res.headersSent ? res.statusCode : 0; } });
      const transport = session === undefined ? undefined : sessions.get(session);
      if (double.refuseAll || (session !== undefined && !transport)) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(NOT_FOUND);
      } else if (transport) {
        await transport.handleRequest(req, res, body);
      } else if (req.method === 'POST' && isInitializeRequest(body)) {
        await open(req, res, body);
      } else {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'Bad Request: no session id' }, id: null }));
      }
    })().catch(() => res.destroy());
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  double.url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
  return double;
}
