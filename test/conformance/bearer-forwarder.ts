/**
 * What lets the conformance runner, which cannot send an Authorization header, reach a listener
 * that wants mcpd's client token: a loopback forwarder that passes each request on unchanged (its
 * method, path, body and every header, Host and Origin included, so mcpd judges what the runner
 * sent) with `Authorization: Bearer TOKEN` added, and streams the answer back as it comes (SSE).
 * Once listeners take `"auth": [{"type": "none"}]` on loopback, the runner can go straight to one.
 */
import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Running } from '../helpers/remote.js';

/** A forwarder on 127.0.0.1 to `target` (an origin) that adds `token` to every request. */
export async function bearerForwarder(target: string, token: string): Promise<Running> {
  const upstream = new URL(target);
  const server: Server = createServer((req, res) => {
    // rawHeaders keeps what the runner sent as it sent it, duplicates and case included.
    const headers: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      if (req.rawHeaders[i]!.toLowerCase() !== 'authorization') headers.push(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
    }
    headers.push('Authorization', `Bearer ${token}`);
    const forward = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers, agent: false }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
      answer.pipe(res);
    });
    forward.on('error', () => res.destroy());
    res.on('close', () => forward.destroy());
    req.pipe(forward);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
