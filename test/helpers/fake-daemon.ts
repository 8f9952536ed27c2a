/**
 * A stand-in daemon on a Unix socket, for testing the CLI's side of a protocol the real daemon
 * may not speak yet (or in ways hard to make it): the same routes, the same WebSocket framing
 * and the same JSON-RPC error shape as daemon/control.ts, with what each side does left to the
 * test. Named a double: it checks no token, no scope, no config.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import { rm } from 'node:fs/promises';
import { type WebSocket, WebSocketServer } from 'ws';
import { McpdError } from '../../core/errors.js';
import { CONTROL_PATH, SESSION_PATH, NOTICES_HEADER, STREAM_HEADER } from '../../daemon/protocol.js';

export interface ControlCall {
  readonly method: string;
  readonly params: Record<string, unknown>;
}

export interface FakeDaemonHandlers {
  /** A session was opened on `url` (path and query, as the client asked). */
  session?(ws: WebSocket, url: URL): void;
  /**
   * A control request: its result, or an McpdError thrown, which the client receives as the
   * daemon sends one. `notify` sends a JSON-RPC notification on the same connection.
   */
  control?(call: ControlCall, notify: (method: string, params: object) => void): unknown;
  /** false: a daemon from before notices, whose 101 does not say it sends kind bytes. Default true, as mcpd's does. */
  notices?: boolean;
  /** true: a session that asks for a stream (`&stream=1`) is told it has one. Default false: a daemon from before streams. */
  stream?: boolean;
}

export interface FakeDaemon {
  /** Every control request, in order. */
  readonly calls: ControlCall[];
  /** The URL of every session asked for. */
  readonly sessions: URL[];
  /** Every request's headers, in order. */
  readonly headers: IncomingMessage['headers'][];
  close(): Promise<void>;
}

/** Listens on `socketPath` until closed. */
export async function fakeDaemon(socketPath: string, handlers: FakeDaemonHandlers): Promise<FakeDaemon> {
  const calls: ControlCall[] = [];
  const sessions: URL[] = [];
  const headers: IncomingMessage['headers'][] = [];
  const server = createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on('headers', (lines, req) => {
    const query = new URL(req.url ?? '/', 'http://daemon').searchParams;
    if (handlers.notices !== false && query.get('notices') === '1') lines.push(`${NOTICES_HEADER}: 1`);
    if (handlers.stream === true && query.get('stream') === '1') lines.push(`${STREAM_HEADER}: 1`);
  });
  wss.on('connection', (ws, req) => {
    headers.push(req.headers);
    const url = new URL(req.url ?? '/', 'http://daemon');
    if (url.pathname.startsWith(SESSION_PATH)) {
      sessions.push(url);
      handlers.session?.(ws, url);
    } else if (url.pathname === CONTROL_PATH) {
      ws.on('message', (data: Buffer) => void answer(ws, JSON.parse(data.toString()) as { id: number; method: string; params?: Record<string, unknown> }));
    } else ws.close(1008, 'no such route');
  });
  const answer = async (ws: WebSocket, request: { id: number; method: string; params?: Record<string, unknown> }) => {
    const call = { method: request.method, params: request.params ?? {} };
    calls.push(call);
    const notify = (method: string, params: object) => ws.send(JSON.stringify({ jsonrpc: '2.0', method, params }));
    try {
      const result: unknown = await handlers.control?.(call, notify);
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: request.id, result: result ?? null }));
    } catch (error) {
      if (!(error instanceof McpdError)) throw error;
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: request.id, error: { code: -32000, message: error.message, data: { code: error.code, hint: error.hint } } }));
    }
  };
  server.listen(socketPath);
  await once(server, 'listening');
  return {
    calls,
    sessions,
    headers,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      await new Promise((resolve) => server.close(resolve));
      await rm(socketPath, { force: true });
    },
  };
}
