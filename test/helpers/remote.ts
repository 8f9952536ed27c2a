/**
 * Real remote MCP servers for the tests: `@modelcontextprotocol/server-everything` in its
 * `streamableHttp` or (legacy) `sse` mode on a loopback port, and a small proxy in front of it
 * that lets a request through only with the right `Authorization` header, recording what each
 * request carried.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';

const everything = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');

/** A port nothing listens on now (the kernel's pick, released). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface Running {
  /** http://127.0.0.1:PORT */
  readonly origin: string;
  stop(): Promise<void>;
}

/** server-everything in `mode`, listening on a loopback port; resolves once it listens. */
export async function startEverything(mode: 'streamableHttp' | 'sse'): Promise<Running> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [everything, mode], { env: { PATH: process.env.PATH ?? '', PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] });
  let seen = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (/listening on port|running on port/i.test(seen)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`server-everything ${mode} exited (${code}) before listening: ${seen}`)));
  });
  return {
    origin: `http://127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

export interface Guard extends Running {
  /** The headers of every request that reached the guard, in order, its method as `:method`. */
  readonly seen: IncomingHttpHeaders[];
}

/** A proxy on `host` to `target` that answers 401 unless `Authorization: Bearer TOKEN`, TOKEN one of `tokens`. */
export async function authGuard(target: string, tokens: readonly string[], host = '127.0.0.1'): Promise<Guard> {
  const seen: IncomingHttpHeaders[] = [];
  const upstream = new URL(target);
  const server: Server = createServer((req, res) => {
    seen.push({ ...req.headers, ':method': req.method });
    if (!tokens.some((token) => req.headers.authorization === `Bearer ${token}`)) {
      res.writeHead(401, { 'www-authenticate': 'Bearer', 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
      return;
    }
    // A connection of its own per request: a kept-alive one that the upstream closes as the next
    // request goes out (its keep-alive timeout) was reset, and this proxy, unlike a client, has
    // nothing to retry with, so mcpd saw ECONNRESET now and then in the 2,000-ping burst.
    const forward = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: { ...req.headers, host: upstream.host }, agent: false }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://${host}:${port}`,
    seen,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
