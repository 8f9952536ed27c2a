/**
 * `npm run bench:gateway`: a host app that speaks Streamable HTTP, served by mcpd's gateway at
 * `/mcp/everything` (the daemon, server-everything over stdio behind it), against
 * server-everything's own `streamableHttp` mode, side by side in one run. Both are driven by the
 * SDK's Client over StreamableHTTPClientTransport, the client a host app would use; mcpd's side
 * presents a client token (`mcpd token create`), as a host app would.
 *
 * - ping p50 (one at a time, after a warm-up) and pipelined pings/s (a burst sent at once, each
 *   its own POST), each round a fresh session on each side, the order rotated;
 * - the same through bare-gateway.js, the floor of a gateway of mcpd's shape (HTTP in one
 *   process, the server over stdio in another, nothing else), answering each request as plain
 *   JSON and, as mcpd and the SDK's server transport do, as an SSE event: a miss is read
 *   against them.
 *
 * Targets (issue 16): ping p50 within direct + 400 µs; pipelined at least 0.8× direct.
 *
 *   node dist/bench/gateway.js [--rounds 5] [--pings 1000] [--warmup 100] [--burst 500]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once, setMaxListeners } from 'node:events';
import { rm, readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { execa } from 'execa';
import { freePort, startEverything } from '../test/helpers/remote.js';
import { BenchDaemon, cli } from './daemon.js';
import { killGroup } from './rpc.js';
import { prepareHome, TOKEN } from './setup.js';
import { count, f, median, quantile, signed } from './stats.js';
import { RATIO, TARGETS, US, verdict } from './targets.js';

const bareGateway = fileURLToPath(new URL('./bare-gateway.js', import.meta.url));

const { values: flags } = parseArgs({ options: {
  rounds: { type: 'string', default: '5' }, pings: { type: 'string', default: '1000' }, warmup: { type: 'string', default: '100' }, burst: { type: 'string', default: '500' },
} });
const ROUNDS = count(flags.rounds, '--rounds', 1);
const PLAN = { warmup: count(flags.warmup, '--warmup', 0), pings: count(flags.pings, '--pings', 10), burst: count(flags.burst, '--burst', 10) };
// The SDK's transport hands every fetch of a session one AbortSignal, and undici lets go of a
// request's listener on it only when the request is collected: past 1,500 the bench's own
// process would warn of a leak that is not mcpd's.
setMaxListeners(0);

interface Side { readonly name: string; readonly url: string; readonly headers: Record<string, string> }
interface Sample { pingsUs: number[]; pingsPerSec: number }

/** A fresh session on `side`: initialized, then `body`, then ended by DELETE and closed. */
async function withClient<T>(side: Side, body: (client: Client) => Promise<T>): Promise<T> {
  const transport = new StreamableHTTPClientTransport(new URL(side.url), { requestInit: { headers: side.headers } });
  const client = new Client({ name: 'mcpd-bench-gateway', version: '1' });
  await client.connect(transport);
  try {
    return await body(client);
  } finally {
    await transport.terminateSession().catch(() => {});
    await client.close();
  }
}

/** Sequential pings after a warm-up (sent → answer parsed), then one burst sent at once. */
async function pings(client: Client): Promise<Sample> {
  const pingsUs: number[] = [];
  for (let i = 0; i < PLAN.warmup + PLAN.pings; i++) {
    const sent = process.hrtime.bigint();
    await client.ping();
    if (i >= PLAN.warmup) pingsUs.push(Number(process.hrtime.bigint() - sent) / 1e3);
  }
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: PLAN.burst }, () => client.ping()));
  return { pingsUs, pingsPerSec: PLAN.burst / (Number(process.hrtime.bigint() - start) / 1e9) };
}

/** Outside the timings: the stored secret reached the server through the gateway, mcpd's client token did not. */
async function checkPath(side: Side, token: string): Promise<void> {
  await withClient(side, async (client) => {
    const result = await client.callTool({ name: 'get-env', arguments: {} });
    const text = JSON.stringify(result.content);
    if (!text.includes(TOKEN)) throw new Error(`${side.name}: BENCH_TOKEN did not reach the server`);
    if (text.includes(token)) throw new Error(`${side.name}: mcpd's client token reached the server's environment`);
  });
}

const load = () => loadavg().map((l) => f(l, 2)).join(' ');

/** bare-gateway.js in front of server-everything over stdio, in its own process group; resolves with its port. */
async function startFloor(entry: string, env: Record<string, string>, ...flags: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [bareGateway, ...flags, '--', process.execPath, entry, 'stdio'], { env, detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = await once(child.stdout!, 'data') as [Buffer];
  return { child, port: Number(line.toString().trim()) };
}

type Name = 'direct' | 'floor' | 'floorSse' | 'mcpd';
const NAMES: readonly Name[] = ['direct', 'floor', 'floorSse', 'mcpd'];

async function main(): Promise<void> {
  const server = await startEverything('streamableHttp');
  const bench = await prepareHome();
  const port = await freePort();
  // The bench's config, and a loopback listener whose chain is mcpd's client tokens.
  const config = JSON.parse(await readFile(bench.env.MCPD_CONFIG, 'utf8')) as Record<string, unknown>;
  await writeFile(bench.env.MCPD_CONFIG, JSON.stringify({ ...config, socket: { listen: [{ host: '127.0.0.1', port, auth: [{ type: 'bearer' }] }] } }));
  const daemon = await BenchDaemon.start(bench.env);
  const floors = [await startFloor(bench.entry, bench.env), await startFloor(bench.entry, bench.env, '--sse')] as const;
  const loadBefore = load();
  const samples: Record<Name, Sample[]> = { direct: [], floor: [], floorSse: [], mcpd: [] };
  try {
    const created = await execa(process.execPath, [cli, 'token', 'create', 'bench', '--scope', 'launch:everything'], { env: bench.env, extendEnv: false });
    const token = created.stdout.trim();
    const sides: Record<Name, Side> = {
      direct: { name: 'direct', url: `${server.origin}/mcp`, headers: {} },
      floor: { name: 'bare gateway', url: `http://127.0.0.1:${floors[0].port}/mcp`, headers: {} },
      floorSse: { name: 'bare gateway, SSE', url: `http://127.0.0.1:${floors[1].port}/mcp`, headers: {} },
      mcpd: { name: 'mcpd /mcp/everything', url: `http://127.0.0.1:${port}/mcp/everything`, headers: { Authorization: `Bearer ${token}` } },
    };
    await checkPath(sides.mcpd, token);
    for (let round = 0; round < ROUNDS; round++) {
      // Rotated, so a slow spell of the shared machine falls on each alike.
      for (let k = 0; k < NAMES.length; k++) {
        const name = NAMES[(round + k) % NAMES.length]!;
        samples[name].push(await withClient(sides[name], pings));
      }
    }
  } finally {
    for (const floor of floors) killGroup(floor.child.pid);
    await daemon.stop();
    await server.stop();
    await rm(bench.home, { recursive: true, force: true });
  }
  console.log(report(samples, bench.version, loadBefore));
}

/** The table, each round's figures in order, and the two verdicts. */
function report(samples: Record<Name, Sample[]>, version: string, loadBefore: string): string {
  // Each round's percentile, then the median of rounds (bench/report.ts says why).
  const p50s = (s: Sample[]) => s.map((x) => quantile(x.pingsUs, 0.5));
  const p = (s: Sample[], q: number) => median(s.map((x) => quantile(x.pingsUs, q)));
  const rate = (s: Sample[]) => median(s.map((x) => x.pingsPerSec));
  const each = (values: number[]) => values.map((v) => f(v, 0)).join(', ');
  const { direct: d, floor: b, floorSse: e, mcpd: m } = samples;
  // The rounds' own differences: the sides of one round ran within seconds of each other.
  const paired = median(p50s(m).map((value, i) => value - p50s(d)[i]!));
  const overDirect = p(m, 0.5) - p(d, 0.5);
  return [
    `date: ${new Date().toISOString()} · node ${process.version} · ${cpus()[0]?.model ?? '?'} · ${cpus().length} cores`,
    `server-everything ${version}: its own streamableHttp mode; over stdio behind bare-gateway.js (the floor: HTTP in one process, the server in another, nothing else), answering JSON or (--sse) an SSE event; over stdio behind mcpd's /mcp/everything on a loopback listener (bearer token). The SDK's Client + StreamableHTTPClientTransport for all four`,
    `${ROUNDS} rounds, a fresh session each, order rotated; ${PLAN.warmup} warm-up + ${PLAN.pings} pings, bursts of ${PLAN.burst}; medians of rounds; load average before ${loadBefore}, after ${load()}`,
    '',
    '| | server-everything directly | bare gateway, JSON | bare gateway, SSE (floor) | mcpd /mcp/everything | mcpd vs direct | mcpd vs the SSE floor |',
    '| --- | ---: | ---: | ---: | ---: | --- | --- |',
    `| ping p50 (µs) | ${f(p(d, 0.5), 0)} | ${f(p(b, 0.5), 0)} | ${f(p(e, 0.5), 0)} | ${f(p(m, 0.5), 0)} | ${signed(overDirect, 0)} µs, ×${f(p(m, 0.5) / p(d, 0.5), 2)} | ${signed(p(m, 0.5) - p(e, 0.5), 0)} µs |`,
    `| ping p99 (µs) | ${f(p(d, 0.99), 0)} | ${f(p(b, 0.99), 0)} | ${f(p(e, 0.99), 0)} | ${f(p(m, 0.99), 0)} | ×${f(p(m, 0.99) / p(d, 0.99), 2)} | ×${f(p(m, 0.99) / p(e, 0.99), 2)} |`,
    `| pipelined pings/s | ${f(rate(d), 0)} | ${f(rate(b), 0)} | ${f(rate(e), 0)} | ${f(rate(m), 0)} | ×${f(rate(m) / rate(d), 2)} | ×${f(rate(m) / rate(e), 2)} |`,
    '',
    `ping p50 µs, each round in order: direct ${each(p50s(d))} · JSON ${each(p50s(b))} · SSE ${each(p50s(e))} · mcpd ${each(p50s(m))}; mcpd − direct within a round, median ${signed(paired, 0)} µs`,
    `pipelined pings/s, each round in order: direct ${each(d.map((x) => x.pingsPerSec))} · JSON ${each(b.map((x) => x.pingsPerSec))} · SSE ${each(e.map((x) => x.pingsPerSec))} · mcpd ${each(m.map((x) => x.pingsPerSec))}`,
    verdict('p', 'gateway ping p50 over direct', 'at most', overDirect, TARGETS.gatewayPingUs, US,
      `${f(p(m, 0.5), 0)} µs against ${f(p(d, 0.5), 0)} µs; the SSE floor ${signed(p(e, 0.5) - p(d, 0.5), 0)} µs vs direct, the JSON one ${signed(p(b, 0.5) - p(d, 0.5), 0)} µs`),
    verdict('t', 'gateway pipelined pings/s, ×direct', 'at least', rate(m) / rate(d), TARGETS.gatewayPipelinedRatio, RATIO,
      `${f(rate(m), 0)} against ${f(rate(d), 0)}; the SSE floor ×${f(rate(e) / rate(d), 2)}, the JSON one ×${f(rate(b) / rate(d), 2)}`),
  ].join('\n');
}

await main();
