/**
 * An authentication chain behind the daemon's real socket server (daemon/server/http.ts) on a
 * TCP port, and a raw client that writes a request's exact bytes: an accepted request upgrades
 * to /v1/control, whose handler sends the principal as its one message; a refused one gets the
 * HTTP refusal (status, WWW-Authenticate, JSON body) the daemon sends.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { McpdError } from '../../core/errors.js';
import type { AuthChain } from '../../daemon/auth/providers/chain.js';
import type { Principal } from '../../daemon/auth/scopes.js';
import { createSocketServer } from '../../daemon/server/http.js';
import type { Refusal } from '../../daemon/server/refusal-tally.js';

export interface ChainServer {
  readonly port: number;
  /** Refusals the server counted (its RefusalTally's input). */
  readonly refusals: Refusal[];
  close(): Promise<void>;
}

/** Serves `chain` on `host` (a port of its own). */
export async function serveChain(chain: AuthChain, host = '127.0.0.1'): Promise<ChainServer> {
  const refusals: Refusal[] = [];
  const server: Server = createSocketServer({
    maxMessageBytes: 1 << 20,
    openSession: () => Promise.reject(new McpdError('SERVER_UNKNOWN', 'this test server opens no sessions')),
    control: (ws, principal) => ws.send(JSON.stringify(principal)),
    authenticate: (req, url) => chain.authenticate(req, url),
    challenge: (refusal, req, url) => chain.challenge(refusal, req, url),
    resourceMetadata: (req, url) => chain.metadata(req, url),
    takeRequest: () => undefined,
    note: () => {},
    refused: (refusal) => refusals.push(refusal),
  }, { tcp: { allowedHosts: [], where: 'socket.listen[0]' } });
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    port,
    refusals,
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

export type Answer =
  | { readonly status: 101; readonly principal: Principal }
  | { readonly status: number; readonly challenge: string | undefined; readonly error: { code: string; message: string; hint?: string } };

/**
 * Upgrades to `path` (/v1/control) on 127.0.0.1:`port` (or `host`) with `headers` written
 * verbatim as latin1 bytes, one line each; the principal accepted, or the refusal.
 */
export function ask(port: number, headers: readonly string[], host = '127.0.0.1', path = '/v1/control'): Promise<Answer> {
  const head = [
    `GET ${path} HTTP/1.1`, `Host: ${host.includes(':') ? `[${host}]` : host}:${port}`, 'Connection: Upgrade', 'Upgrade: websocket',
    'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', ...headers,
  ].join('\r\n');
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    let data = Buffer.alloc(0);
    const settle = (answer: Answer | undefined) => {
      if (!answer) return;
      socket.destroy();
      resolve(answer);
    };
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      if (data.subarray(0, 12).toString('latin1') === 'HTTP/1.1 101') settle(frameOf(data));
    });
    socket.on('end', () => settle(refusalOf(data)));
    socket.on('error', reject);
    socket.write(`${head}\r\n\r\n`, 'latin1');
  });
}

/** The principal in the first WebSocket frame after the 101, once it has all arrived. */
function frameOf(data: Buffer): Answer | undefined {
  const start = data.indexOf('\r\n\r\n') + 4;
  if (start < 4 || data.length < start + 2) return undefined;
  const short = data[start + 1]! & 0x7f;
  const [length, offset] = short === 126 ? [data.length >= start + 4 ? data.readUInt16BE(start + 2) : Infinity, start + 4] : [short, start + 2];
  if (data.length < offset + length) return undefined;
  return { status: 101, principal: JSON.parse(data.subarray(offset, offset + length).toString('utf8')) as Principal };
}

function refusalOf(data: Buffer): Answer {
  const text = data.toString('utf8');
  const [head = '', body = ''] = text.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
  const challenge = /\r\nWWW-Authenticate: ([^\r\n]*)/i.exec(head)?.[1];
  return { status, challenge, error: (JSON.parse(body) as { error: { code: string; message: string; hint?: string } }).error };
}
