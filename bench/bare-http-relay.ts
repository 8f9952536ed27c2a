/**
 * The daemon end of bench/floor-remote's bare bridge: listens on a Unix socket (bare-relay.js
 * connect is the other end) and, for each connection, sends each newline-delimited message to
 * the Streamable HTTP server at URL and writes its answers back, one a line. Nothing else: no
 * framing, no policy, no session replay, no origin checks on headers.
 *
 *   node dist/bench/bare-http-relay.js SOCKET URL          each message one plain fetch POST (bare-post.ts)
 *   node dist/bench/bare-http-relay.js SOCKET URL --sdk    each message through the SDK's
 *                                                          StreamableHTTPClientTransport, as mcpd's daemon sent before lean-http.ts
 *
 * $BENCH_AUTHORIZATION, when set, is the Authorization header (in the environment, as the
 * daemon holds its secrets, not in argv).
 */
import { rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { BarePost } from './bare-post.js';

const [path, url, sdk] = process.argv.slice(2);
if (!path || !url || (sdk !== undefined && sdk !== '--sdk')) {
  process.stderr.write('usage: bare-http-relay.js SOCKET URL [--sdk]\n');
  process.exit(2);
}
const authorization = process.env.BENCH_AUTHORIZATION;
const headers: Record<string, string> = authorization === undefined ? {} : { authorization };

interface Upstream {
  send(line: string): Promise<void>;
  end(): Promise<void>;
}

function bare(reply: (line: string) => void): Upstream {
  const client = new BarePost(url!, headers);
  return { send: (line) => client.post(line, reply), end: () => client.end() };
}

function viaSdk(reply: (line: string) => void): Upstream {
  const transport = new StreamableHTTPClientTransport(new URL(url!), { requestInit: { headers } });
  transport.onmessage = (message) => reply(JSON.stringify(message));
  void transport.start();
  return {
    send: (line) => transport.send(JSON.parse(line) as JSONRPCMessage),
    end: async () => {
      await transport.terminateSession().catch(() => {});
      await transport.close();
    },
  };
}

function relay(socket: Socket): void {
  socket.on('error', () => {});
  const upstream = (sdk ? viaSdk : bare)((line) => socket.write(`${line}\n`));
  let partial = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (!line) continue;
      // A failed send ends the connection: the bench's client fails its pending calls instead of waiting.
      upstream.send(line).catch((error: unknown) => {
        process.stderr.write(`bare-http-relay: ${String(error)}\n`);
        socket.destroy();
      });
    }
  });
  socket.on('end', () => void upstream.end().finally(() => socket.end()));
}

rmSync(path, { force: true });
createServer(relay).listen(path, () => process.stdout.write('listening\n'));
