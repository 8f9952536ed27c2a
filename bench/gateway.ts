/**
 * `npm run bench:gateway`: a host app that speaks Streamable HTTP, served by mcpd's gateway at
 * `/mcp/everything` (the daemon, server-everything over stdio behind it), against
 * server-everything's own `streamableHttp` mode, side by side in one run. Both are driven by the
 * SDK's Client over StreamableHTTPClientTransport, the client a host app would use; mcpd's side
 * presents a client token (`mcpd token create`), as a host app would.
 *
 * - ping p50 (one at a time, after a warm-up) and pipelined pings/s (a burst sent at once, each
 *   its own POST), each round a fresh session on each side, the two sides alternating first.
 *
 * Targets (issue 16): ping p50 within direct + 400 µs; pipelined at least 0.8× direct.
 *
 *   node dist/bench/gateway.js [--rounds 5] [--pings 1000] [--warmup 100] [--burst 500]
 */
import { setMaxListeners } from 'node:events';
import { rm, readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { execa } from 'execa';
import { freePort, startEverything } from '../test/helpers/remote.js';
import { BenchDaemon, cli } from './daemon.js';
import { prepareHome, TOKEN } from './setup.js';
import { count, f, median, quantile } from './stats.js';
import { RATIO, TARGETS, US, verdict } from './targets.js';

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

async function main(): Promise<void> {
  const server = await startEverything('streamableHttp');
  const bench = await prepareHome();
  const port = await freePort();
  // The bench's config, and a loopback listener whose chain is mcpd's client tokens.
  const config = JSON.parse(await readFile(bench.env.MCPD_CONFIG, 'utf8')) as Record<string, unknown>;
  await writeFile(bench.env.MCPD_CONFIG, JSON.stringify({ ...config, socket: { listen: [{ host: '127.0.0.1', port, auth: [{ type: 'bearer' }] }] } }));
  const daemon = await BenchDaemon.start(bench.env);
  const loadBefore = load();
  const samples: Record<'direct' | 'mcpd', Sample[]> = { direct: [], mcpd: [] };
  try {
    const created = await execa(process.execPath, [cli, 'token', 'create', 'bench', '--scope', 'launch:everything'], { env: bench.env, extendEnv: false });
    const token = created.stdout.trim();
    const direct: Side = { name: 'direct', url: `${server.origin}/mcp`, headers: {} };
    const viaMcpd: Side = { name: 'mcpd /mcp/everything', url: `http://127.0.0.1:${port}/mcp/everything`, headers: { Authorization: `Bearer ${token}` } };
    await checkPath(viaMcpd, token);
    for (let round = 0; round < ROUNDS; round++) {
      // Alternated, so a slow spell of the shared machine falls on both alike.
      const order = round % 2 === 0 ? (['direct', 'mcpd'] as const) : (['mcpd', 'direct'] as const);
      for (const which of order) samples[which].push(await withClient(which === 'direct' ? direct : viaMcpd, pings));
    }
  } finally {
    await daemon.stop();
    await server.stop();
    await rm(bench.home, { recursive: true, force: true });
  }
  // Each round's percentile, then the median of rounds (bench/report.ts says why).
  const p = (s: Sample[], q: number) => median(s.map((x) => quantile(x.pingsUs, q)));
  const rate = (s: Sample[]) => median(s.map((x) => x.pingsPerSec));
  const spread = (values: number[]) => `${f(Math.min(...values), 0)}–${f(Math.max(...values), 0)}`;
  const [d, m] = [samples.direct, samples.mcpd];
  console.log(`date: ${new Date().toISOString()} · node ${process.version} · ${cpus()[0]?.model ?? '?'} · ${cpus().length} cores`);
  console.log(`server-everything ${bench.version}: its own streamableHttp mode, and over stdio behind mcpd's /mcp/everything on a loopback listener (bearer token); the SDK's Client + StreamableHTTPClientTransport for both`);
  console.log(`${ROUNDS} rounds, a fresh session each, alternating; ${PLAN.warmup} warm-up + ${PLAN.pings} pings, bursts of ${PLAN.burst}; medians of rounds; load average before ${loadBefore}, after ${load()}`);
  console.log('');
  console.log('| | server-everything directly | through mcpd /mcp/everything | mcpd vs direct |');
  console.log('| --- | ---: | ---: | --- |');
  console.log(`| ping p50 (µs) | ${f(p(d, 0.5), 0)} | ${f(p(m, 0.5), 0)} | ${f(p(m, 0.5) - p(d, 0.5), 0)} µs over, ×${f(p(m, 0.5) / p(d, 0.5), 2)} |`);
  console.log(`| ping p99 (µs) | ${f(p(d, 0.99), 0)} | ${f(p(m, 0.99), 0)} | ×${f(p(m, 0.99) / p(d, 0.99), 2)} |`);
  console.log(`| pipelined pings/s | ${f(rate(d), 0)} | ${f(rate(m), 0)} | ×${f(rate(m) / rate(d), 2)} |`);
  console.log('');
  console.log(`per round, min–max: ping p50 µs direct ${spread(d.map((x) => quantile(x.pingsUs, 0.5)))}, mcpd ${spread(m.map((x) => quantile(x.pingsUs, 0.5)))}; pings/s direct ${spread(d.map((x) => x.pingsPerSec))}, mcpd ${spread(m.map((x) => x.pingsPerSec))}`);
  console.log(verdict('p', 'gateway ping p50 over direct', 'at most', p(m, 0.5) - p(d, 0.5), TARGETS.gatewayPingUs, US, `${f(p(m, 0.5), 0)} µs against ${f(p(d, 0.5), 0)} µs`));
  console.log(verdict('t', 'gateway pipelined pings/s, ×direct', 'at least', rate(m) / rate(d), TARGETS.gatewayPipelinedRatio, RATIO, `${f(rate(m), 0)} against ${f(rate(d), 0)}`));
}

await main();
