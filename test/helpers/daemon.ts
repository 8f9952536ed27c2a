/** Talking to a test's daemon directly: raw HTTP on its socket, and sessions as plain WebSockets. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request } from 'node:http';
import { WebSocket } from 'ws';
import type { Sandbox } from './sandbox.js';

/** Starts the sandbox's daemon in the background (`mcpd start`). */
export async function startDaemon(s: Sandbox, env: Record<string, string> = {}): Promise<void> {
  const started = await s.cli(['start'], { env });
  assert.equal(started.exitCode, 0, started.stderr);
}

/** Polls `check` until it holds; fails naming `what` after `ms`. */
export async function waitFor(check: () => Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface RawAnswer {
  status: number;
  body: { error: { code: string; message: string; hint?: string } };
}

/** A GET on the socket, as a WebSocket upgrade or as plain HTTP; returns the refusal. */
export function rawRequest(socketPath: string, path: string, upgrade: boolean, extra: Record<string, string> = {}): Promise<RawAnswer> {
  const headers: Record<string, string> = upgrade
    ? { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', ...extra }
    : extra;
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => { text += chunk; }).on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as RawAnswer['body'] });
      });
    });
    req.on('upgrade', (_res, upgraded) => {
      upgraded.destroy();
      reject(new Error(`${path} was upgraded, not refused`));
    });
    req.on('error', reject);
    req.end();
  });
}

type Message = { id?: unknown; method?: string; result?: Record<string, unknown>; error?: { code: number; message: string } };

/** A session spoken by hand: one JSON-RPC message per text frame. */
export class MiniSession {
  readonly #inbox: Message[] = [];
  #waiting: ((message: Message) => void) | undefined;
  #nextId = 100;
  readonly closed: Promise<[number, string]>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) return;
      const message = JSON.parse(data.toString()) as Message;
      if (this.#waiting) {
        const waiting = this.#waiting;
        this.#waiting = undefined;
        waiting(message);
      } else this.#inbox.push(message);
    });
    this.closed = once(ws, 'close').then(([code, reason]) => [code as number, String(reason)]);
  }

  /** `token`: sent as `Authorization: Bearer TOKEN`. */
  static open(socketPath: string, server: string, token?: string): Promise<MiniSession> {
    return MiniSession.at(`ws+unix://${socketPath}:/v1/session/${server}`, token);
  }

  /** A session at a WebSocket URL (`ws://127.0.0.1:PORT/v1/session/NAME` for a TCP listener). */
  static async at(url: string, token?: string): Promise<MiniSession> {
    const ws = new WebSocket(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    await once(ws, 'open');
    return new MiniSession(ws);
  }

  /** The next message from the server. */
  next(): Promise<Message> {
    const queued = this.#inbox.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => { this.#waiting = resolve; });
  }

  /** Sends a request and returns its response, skipping notifications. */
  async request(method: string, params: object = {}): Promise<Message> {
    const id = this.#nextId++;
    this.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    for (;;) {
      const message = await this.next();
      if (message.id === id) return message;
    }
  }

  async initialize(): Promise<void> {
    const answer = await this.request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'test', version: '1' } });
    assert.ok(answer.result, `initialize failed: ${JSON.stringify(answer.error)}`);
    this.ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
  }

  async close(): Promise<void> {
    this.ws.close(1000);
    await this.closed;
  }
}
