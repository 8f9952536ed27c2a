/**
 * bench/gateway's floor on the SDK's own server transport: bare-gateway.ts's shape (HTTP in one
 * process, the MCP server over stdio in another) with the protocol done by the SDK's
 * StreamableHTTPServerTransport, as server-everything's HTTP mode does it (mcpd's gateway runs
 * the same transport's web-standard core, daemon/gateway/web-exchange.ts). Each session's
 * transport writes what the client sends to its server's stdin and sends each line the server
 * writes; nothing else (no authentication, policy, audit or session of mcpd's).
 *
 *   node dist/bench/sdk-gateway.js -- CMD ARGS…   listens on a loopback port and prints it
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

const dash = process.argv.indexOf('--');
const command = dash === -1 ? [] : process.argv.slice(dash + 1);
if (command.length === 0) {
  process.stderr.write('usage: sdk-gateway.js -- CMD ARGS…\n');
  process.exit(2);
}

const transports = new Map<string, StreamableHTTPServerTransport>();

/** A transport for a new session, CMD behind it. */
async function open(): Promise<StreamableHTTPServerTransport> {
  const child = spawn(command[0]!, command.slice(1), { stdio: ['pipe', 'pipe', 'ignore'] });
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(), onsessioninitialized: (id) => void transports.set(id, transport) });
  transport.onmessage = (message) => child.stdin.write(`${JSON.stringify(message)}\n`);
  transport.onclose = () => child.kill();
  child.stdin.on('error', () => {});
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const line of lines) transport.send(JSON.parse(line) as JSONRPCMessage).catch(() => {});
  });
  await transport.start();
  return transport;
}

const server = createServer((req, res) => {
  const sid = req.headers['mcp-session-id'];
  const known = typeof sid === 'string' ? transports.get(sid) : undefined;
  if (req.method !== 'POST') {
    if (!known) return void res.writeHead(404).end();
    if (req.method === 'DELETE') transports.delete(sid as string);
    return void known.handleRequest(req, res).catch(() => res.destroy());
  }
  let body = '';
  req.setEncoding('utf8').on('data', (chunk: string) => { body += chunk; }).on('end', () => {
    const message = JSON.parse(body) as { method?: string };
    const transport = known ? Promise.resolve(known) : message.method === 'initialize' ? open() : undefined;
    if (!transport) return void res.writeHead(404).end();
    void transport.then((t) => t.handleRequest(req, res, message)).catch(() => res.destroy());
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
