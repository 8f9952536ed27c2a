/**
 * `npm run bench:remote-post`: where the daemon's remote hop spends its time per request.
 * One process, one server-everything (Streamable HTTP, loopback), sequential pings, each one
 * POST, through HTTP clients from the heaviest to the bare minimum, rounds interleaved:
 *
 *   SDK + fetch, as mcpd was   the SDK's transport on origin-fetch and request signals over fetch
 *                              (what RemoteLink ran before lean-http.ts)
 *   SDK + fetch                StreamableHTTPClientTransport alone, plain fetch
 *   lean + fetch               lean-http.ts on origin-fetch over fetch: the SDK's part removed
 *   lean + node:http (mcpd)    RemoteLink as the daemon runs it: lean-http.ts over http-fetch.ts
 *   bare fetch                 fetch POSTs, the event stream cut by hand (bare-post.ts)
 *   bare node:http             node:http with a keep-alive Agent, the body cut by hand
 *
 * Besides wall time per ping (p50), it reports this process's CPU time per ping (user + system,
 * over the timed pings): on a shared machine the steadier figure of what a client costs.
 *
 *   node dist/bench/remote-post.js [--rounds 5] [--pings 500]
 */
import { Agent, request } from 'node:http';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { LeanHttpTransport } from '../daemon/remote/lean-http.js';
import { originFetch } from '../daemon/remote/origin-fetch.js';
import { RemoteLink } from '../daemon/remote/remote-link.js';
import { perRequestSignals } from '../daemon/remote/request-signals.js';
import { staticHeaders } from '../daemon/remote/token-source.js';
import { startEverything } from '../test/helpers/remote.js';
import { BarePost } from './bare-post.js';
import { INIT_PARAMS } from './rpc.js';
import { count, f, median } from './stats.js';

const { values: flags } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, pings: { type: 'string', default: '500' } } });
const ROUNDS = count(flags.rounds, '--rounds', 1);
const PINGS = count(flags.pings, '--pings', 10);
const WARMUP = 100;

/** A client that sends one message and calls back with each JSON-RPC message it gets. */
interface Client {
  send(message: JSONRPCMessage): Promise<void>;
  close(): Promise<void>;
}
type Make = (url: string, onMessage: (message: JSONRPCMessage) => void) => Client;

const HEADERS = { Authorization: 'Bearer bench' };

/** A Transport as a Client, DELETE on close as RemoteLink does. */
function asClient(transport: Transport & { terminateSession(): Promise<void> }, onMessage: (message: JSONRPCMessage) => void): Client {
  transport.onmessage = onMessage;
  void transport.start();
  return { send: (m) => transport.send(m), close: async () => { await transport.terminateSession().catch(() => {}); await transport.close(); } };
}

const CLIENTS: Record<string, Make> = {
  'SDK + fetch, as mcpd was': (url, onMessage) => asClient(new StreamableHTTPClientTransport(new URL(url), { fetch: originFetch(url, staticHeaders(HEADERS), perRequestSignals(fetch)) }), onMessage),
  'SDK + fetch': (url, onMessage) => asClient(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: HEADERS } }), onMessage),
  'lean + fetch': (url, onMessage) => asClient(new LeanHttpTransport(new URL(url), originFetch(url, staticHeaders(HEADERS), fetch)), onMessage),
  'lean + node:http (mcpd)': (url, onMessage) => new RemoteLink({ kind: 'remote', name: 'bench', url, transport: 'http', headers: HEADERS, refs: [], leases: [], oauth: undefined }, { message: onMessage, warning: () => {} }),
  'bare fetch': (url, onMessage) => {
    const client = new BarePost(url, { authorization: 'Bearer bench' });
    return { send: (m) => client.post(JSON.stringify(m), (line) => onMessage(JSON.parse(line) as JSONRPCMessage)), close: () => client.end() };
  },
  'bare node:http': (url, onMessage) => nodeHttp(url, onMessage),
};

/** The least a node:http client can do: keep-alive, the session id kept, `data:` lines cut by hand. */
function nodeHttp(url: string, onMessage: (message: JSONRPCMessage) => void): Client {
  const agent = new Agent({ keepAlive: true });
  let session: string | undefined;
  const call = (method: string, body?: string) => new Promise<void>((resolve, reject) => {
    const headers: Record<string, string> = { authorization: 'Bearer bench', 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    if (session) headers['mcp-session-id'] = session;
    const req = request(url, { method, headers, agent }, (res) => {
      const id = res.headers['mcp-session-id'];
      if (typeof id === 'string') session ??= id;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        for (let end = text.indexOf('\n\n'); end !== -1; end = text.indexOf('\n\n')) {
          const data = text.slice(0, end).split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
          text = text.slice(end + 2);
          if (data) onMessage(JSON.parse(data) as JSONRPCMessage);
        }
      });
      res.on('end', () => {
        if (text.trim().startsWith('{')) onMessage(JSON.parse(text) as JSONRPCMessage);
        resolve();
      });
    });
    req.on('error', reject);
    req.end(body);
  });
  return { send: (m) => call('POST', JSON.stringify(m)), close: async () => { await call('DELETE').catch(() => {}); agent.destroy(); } };
}

/** One session through `make`: initialize, then timed sequential pings; wall µs per ping and CPU µs per ping. */
async function round(make: Make, url: string): Promise<{ p50: number; cpu: number }> {
  const waiting = new Map<number, () => void>();
  const client = make(url, (message) => {
    if ('id' in message && typeof message.id === 'number') waiting.get(message.id)?.();
  });
  let id = 0;
  const call = (method: string, params?: object) => new Promise<void>((resolve, reject) => {
    const n = ++id;
    waiting.set(n, resolve);
    client.send({ jsonrpc: '2.0', id: n, method, ...(params ? { params } : {}) } as JSONRPCMessage).catch(reject);
  });
  await call('initialize', INIT_PARAMS);
  await client.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  for (let i = 0; i < WARMUP; i++) await call('ping');
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < PINGS; i++) {
    const t0 = process.hrtime.bigint();
    await call('ping');
    times.push(Number(process.hrtime.bigint() - t0) / 1e3);
  }
  const cpu = process.cpuUsage(cpu0);
  await client.close();
  return { p50: median(times), cpu: (cpu.user + cpu.system) / PINGS };
}

const server = await startEverything('streamableHttp');
const url = `${server.origin}/mcp`;
const results: Record<string, { p50: number[]; cpu: number[] }> = {};
try {
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, make] of Object.entries(CLIENTS)) {
      const { p50, cpu } = await round(make, url);
      (results[name] ??= { p50: [], cpu: [] }).p50.push(p50);
      results[name].cpu.push(cpu);
    }
    process.stderr.write(`round ${r + 1}/${ROUNDS} done\n`);
  }
} finally {
  await server.stop();
}
console.log(`server-everything (streamableHttp) on loopback; ${ROUNDS} rounds interleaved · ${PINGS} sequential pings each (after ${WARMUP}); medians over rounds; load average ${loadavg().map((l) => f(l, 2)).join(' ')}`);
console.log('');
console.log('| client | ping p50 µs | p50 per round, min–max | client CPU µs per ping | CPU per round, min–max |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const [name, { p50, cpu }] of Object.entries(results)) {
  console.log(`| ${name} | ${f(median(p50), 0)} | ${f(Math.min(...p50), 0)}–${f(Math.max(...p50), 0)} | ${f(median(cpu), 0)} | ${f(Math.min(...cpu), 0)}–${f(Math.max(...cpu), 0)} |`);
}
