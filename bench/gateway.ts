/**
 * `npm run bench:gateway`: a host app that speaks Streamable HTTP, served by mcpd's gateway at
 * `/mcp/everything` (the daemon, server-everything over stdio behind it), against
 * server-everything's own `streamableHttp` mode, side by side in one run. Both are driven by the
 * SDK's Client over StreamableHTTPClientTransport, the client a host app would use; mcpd's side
 * presents a client token (`mcpd token create`), as a host app would.
 *
 * - ping p50 (one at a time, after a warm-up) and pipelined pings/s (a burst sent at once, each
 *   its own POST), each round a fresh session on each side, the order rotated;
 * - the same through the floors of a gateway of mcpd's shape (HTTP in one process, the server
 *   over stdio in another, nothing else): bare-gateway.js answering each request as plain JSON
 *   or as one SSE event, and sdk-gateway.js doing the protocol with the SDK's server transport,
 *   as mcpd does. A miss is read against them.
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

const script = (name: string) => fileURLToPath(new URL(`./${name}`, import.meta.url));

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

/** A floor script in front of server-everything over stdio, in its own process group; resolves with its port. */
async function startFloor(entry: string, env: Record<string, string>, args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [...args, '--', process.execPath, entry, 'stdio'], { env, detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = await once(child.stdout!, 'data') as [Buffer];
  return { child, port: Number(line.toString().trim()) };
}

/** The paths measured, in the table's order; the floors' scripts and flags. */
const PATHS = [
  { key: 'direct', label: 'server-everything directly' },
  { key: 'json', label: 'bare gateway, JSON', floor: [script('bare-gateway.js')] },
  { key: 'sse', label: 'bare gateway, SSE', floor: [script('bare-gateway.js'), '--sse'] },
  { key: 'sdk', label: 'bare gateway, SDK transport', floor: [script('sdk-gateway.js')] },
  { key: 'mcpd', label: 'mcpd /mcp/everything' },
] as const;
type Key = (typeof PATHS)[number]['key'];

async function main(): Promise<void> {
  const server = await startEverything('streamableHttp');
  const bench = await prepareHome();
  const port = await freePort();
  // The bench's config, and a loopback listener whose chain is mcpd's client tokens.
  const config = JSON.parse(await readFile(bench.env.MCPD_CONFIG, 'utf8')) as Record<string, unknown>;
  await writeFile(bench.env.MCPD_CONFIG, JSON.stringify({ ...config, socket: { listen: [{ host: '127.0.0.1', port, auth: [{ type: 'bearer' }] }] } }));
  const daemon = await BenchDaemon.start(bench.env);
  const floors: { child: ChildProcess; port: number }[] = [];
  const loadBefore = load();
  const samples = Object.fromEntries(PATHS.map((path) => [path.key, [] as Sample[]])) as Record<Key, Sample[]>;
  try {
    const created = await execa(process.execPath, [cli, 'token', 'create', 'bench', '--scope', 'launch:everything'], { env: bench.env, extendEnv: false });
    const token = created.stdout.trim();
    const sides = {} as Record<Key, Side>;
    for (const path of PATHS) {
      if (path.key === 'direct') sides.direct = { name: path.label, url: `${server.origin}/mcp`, headers: {} };
      else if (path.key === 'mcpd') sides.mcpd = { name: path.label, url: `http://127.0.0.1:${port}/mcp/everything`, headers: { Authorization: `Bearer ${token}` } };
      else {
        const floor = await startFloor(bench.entry, bench.env, [...path.floor]);
        floors.push(floor);
        sides[path.key] = { name: path.label, url: `http://127.0.0.1:${floor.port}/mcp`, headers: {} };
      }
    }
    await checkPath(sides.mcpd, token);
    for (let round = 0; round < ROUNDS; round++) {
      // Rotated, so a slow spell of the shared machine falls on each alike.
      for (let k = 0; k < PATHS.length; k++) {
        const { key } = PATHS[(round + k) % PATHS.length]!;
        samples[key].push(await withClient(sides[key], pings));
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

/** The table (a row a path), each round's figures in order, and the two verdicts. */
function report(samples: Record<Key, Sample[]>, version: string, loadBefore: string): string {
  // Each round's percentile, then the median of rounds (bench/report.ts says why).
  const p50s = (s: Sample[]) => s.map((x) => quantile(x.pingsUs, 0.5));
  const p = (s: Sample[], q: number) => median(s.map((x) => quantile(x.pingsUs, q)));
  const rate = (s: Sample[]) => median(s.map((x) => x.pingsPerSec));
  const each = (values: number[]) => values.map((v) => f(v, 0)).join(', ');
  const d = samples.direct;
  const m = samples.mcpd;
  // The rounds' own differences: the paths of one round ran within seconds of each other.
  const paired = median(p50s(m).map((value, i) => value - p50s(d)[i]!));
  const overDirect = p(m, 0.5) - p(d, 0.5);
  const vsDirect = (key: Key) => `${signed(p(samples[key], 0.5) - p(d, 0.5), 0)} µs`;
  return [
    `date: ${new Date().toISOString()} · node ${process.version} · ${cpus()[0]?.model ?? '?'} · ${cpus().length} cores`,
    `server-everything ${version}: its own streamableHttp mode (direct); over stdio behind three floors of a gateway of mcpd's shape (HTTP in one process, the server in another, nothing else): bare-gateway.js answering plain JSON or one SSE event, sdk-gateway.js on the SDK's server transport; over stdio behind mcpd's /mcp/everything on a loopback listener (bearer token). The SDK's Client + StreamableHTTPClientTransport for all`,
    `${ROUNDS} rounds, a fresh session each, order rotated; ${PLAN.warmup} warm-up + ${PLAN.pings} pings, bursts of ${PLAN.burst}; medians of rounds; load average before ${loadBefore}, after ${load()}`,
    '',
    '| path | ping p50 µs | vs direct | ping p99 µs | pipelined pings/s | ×direct |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...PATHS.map(({ key, label }) => `| ${label} | ${f(p(samples[key], 0.5), 0)} | ${key === 'direct' ? '' : vsDirect(key)} | ${f(p(samples[key], 0.99), 0)} | ${f(rate(samples[key]), 0)} | ${f(rate(samples[key]) / rate(d), 2)} |`),
    '',
    `ping p50 µs, each round in order: ${PATHS.map(({ key }) => `${key} ${each(p50s(samples[key]))}`).join(' · ')}; mcpd − direct within a round, median ${signed(paired, 0)} µs`,
    `pipelined pings/s, each round in order: ${PATHS.map(({ key }) => `${key} ${each(samples[key].map((x) => x.pingsPerSec))}`).join(' · ')}`,
    `mcpd over the floors' ping p50: ${(['json', 'sse', 'sdk'] as const).map((key) => `${key} ${signed(p(m, 0.5) - p(samples[key], 0.5), 0)} µs`).join(' · ')}`,
    verdict('p', 'gateway ping p50 over direct', 'at most', overDirect, TARGETS.gatewayPingUs, US,
      `${f(p(m, 0.5), 0)} µs against ${f(p(d, 0.5), 0)} µs; the SDK transport's floor ${vsDirect('sdk')}, the SSE one ${vsDirect('sse')}`),
    verdict('t', 'gateway pipelined pings/s, ×direct', 'at least', rate(m) / rate(d), TARGETS.gatewayPipelinedRatio, RATIO,
      `${f(rate(m), 0)} against ${f(rate(d), 0)}; the SDK transport's floor ×${f(rate(samples.sdk) / rate(d), 2)}, the SSE one ×${f(rate(samples.sse) / rate(d), 2)}`),
  ].join('\n');
}

await main();
