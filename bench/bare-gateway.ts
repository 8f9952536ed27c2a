/**
 * The least a gateway of mcpd's shape can cost, for bench/gateway's floor: an HTTP server in
 * one process, the MCP server over stdio in another. An initialize without a session spawns CMD
 * and names a session; each POSTed message is written to its stdin as one line, and a request is
 * answered with the line that carries its id, as plain JSON or, with --sse, as the one event of
 * an SSE stream, as the SDK's server transport answers (no event ids or store, no
 * authentication, no Host check, no policy, no audit). GET is 405, as the spec allows; DELETE
 * ends the session.
 *
 *   node dist/bench/bare-gateway.js [--sse] -- CMD ARGS…   listens on a loopback port and prints it
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable, Writable } from 'node:stream';

const dash = process.argv.indexOf('--');
const command = dash === -1 ? [] : process.argv.slice(dash + 1);
const sse = process.argv.slice(2, dash).includes('--sse');
if (command.length === 0) {
  process.stderr.write('usage: bare-gateway.js [--sse] -- CMD ARGS…\n');
  process.exit(2);
}

interface Session { child: ChildProcessByStdio<Writable, Readable, null>; waiting: Map<string, ServerResponse> }
const sessions = new Map<string, Session>();

/** CMD, its answers sent to the response waiting on their id; the rest (notifications, its requests) dropped. */
function open(): Session {
  const child = spawn(command[0]!, command.slice(1), { stdio: ['pipe', 'pipe', 'ignore'] });
  const session: Session = { child, waiting: new Map() };
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      const id = (JSON.parse(line) as { id?: unknown }).id;
      const res = id === undefined ? undefined : session.waiting.get(JSON.stringify(id));
      if (!res) continue;
      session.waiting.delete(JSON.stringify(id));
      if (sse) res.writeHead(200, { 'content-type': 'text/event-stream' }).end(`event: message\ndata: ${line}\n\n`);
      else res.writeHead(200, { 'content-type': 'application/json' }).end(line);
    }
  });
  child.stdin.on('error', () => {});
  return session;
}

const server = createServer((req, res) => {
  const sid = req.headers['mcp-session-id'];
  const known = typeof sid === 'string' ? sessions.get(sid) : undefined;
  if (req.method === 'GET') return void res.writeHead(405).end();
  if (req.method === 'DELETE') {
    if (known) {
      known.child.kill();
      sessions.delete(sid as string);
    }
    return void res.writeHead(200).end();
  }
  let body = '';
  req.setEncoding('utf8').on('data', (chunk: string) => { body += chunk; }).on('end', () => {
    const message = JSON.parse(body) as { id?: unknown; method?: string };
    let session = known;
    if (!session && message.method === 'initialize') {
      const id = randomUUID();
      session = open();
      sessions.set(id, session);
      res.setHeader('mcp-session-id', id);
    }
    if (!session) return void res.writeHead(404).end();
    if (message.id !== undefined && message.method !== undefined) session.waiting.set(JSON.stringify(message.id), res);
    else res.writeHead(202).end();
    session.child.stdin.write(`${body}\n`);
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
