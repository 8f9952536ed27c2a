/**
 * `npm run bench:remote`: a remote server through mcpd against the SDK's own HTTP client, side
 * by side in one run. The server is server-everything in its Streamable HTTP mode on loopback;
 * mcpd runs it as a url server whose Authorization header comes from the local store.
 *
 * - ping p50 (one at a time) and pipelined pings/s (a burst written at once), through
 *   `mcpd run remote` (the daemon, started once before any timing) and through
 *   StreamableHTTPClientTransport in this process;
 * - time to the first tools/list answer: spawn of `mcpd run remote` (or a new transport, for
 *   direct) → initialize → tools/list, with the stored token resolved on the way.
 *
 * Targets (issue 14): ping p50 within direct + 400 µs; pipelined at least 0.8× direct.
 *
 *   node dist/bench/remote.js [--rounds 3] [--pings 1000] [--burst 500]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { BenchDaemon, cli } from './daemon.js';
import { closeDirect, direct, remoteBench } from './http-direct.js';
import { pings, type Sample } from './measure.js';
import { session, type Variant } from './rpc.js';
import { count, f, median, msSince } from './stats.js';

const { values: flags } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, pings: { type: 'string', default: '1000' }, burst: { type: 'string', default: '500' } } });
const ROUNDS = count(flags.rounds, '--rounds', 1);
const PLAN = { warmup: 100, pings: count(flags.pings, '--pings', 10), burst: count(flags.burst, '--burst', 10) };

async function main(): Promise<void> {
  const { server, url, bench } = await remoteBench();
  const daemon = await BenchDaemon.start(bench.env);
  const viaMcpd: Variant = { name: 'mcpd run (daemon)', command: process.execPath, args: [cli, 'run', 'remote'] };
  const samples: Record<'direct' | 'mcpd', Sample[]> = { direct: [], mcpd: [] };
  const firstList: Record<'direct' | 'mcpd', number[]> = { direct: [], mcpd: [] };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      // Alternated, so a slow spell of the shared machine falls on both.
      const d = await direct(url);
      samples.direct.push(await pings(d.rpc, d.initMs, PLAN));
      await closeDirect(d.rpc);
      samples.mcpd.push(await session(viaMcpd, bench.env, (rpc, initMs) => pings(rpc, initMs, PLAN)));

      const t0 = process.hrtime.bigint();
      const fresh = await direct(url);
      firstList.direct.push(msSince(t0, (await fresh.rpc.call('tools/list')).at));
      await closeDirect(fresh.rpc);
      const t1 = process.hrtime.bigint();
      firstList.mcpd.push(await session(viaMcpd, bench.env, async (rpc) => msSince(t1, (await rpc.call('tools/list')).at)));
    }
  } finally {
    await daemon.stop();
    await server.stop();
  }
  const p50 = (s: Sample[]) => median(s.map((x) => median(x.pingsUs)));
  const rate = (s: Sample[]) => median(s.map((x) => x.pingsPerSec));
  const rows = [
    ['ping p50 (µs)', p50(samples.direct), p50(samples.mcpd), `${f(p50(samples.mcpd) - p50(samples.direct), 0)} µs over (target ≤ 400)`],
    ['pipelined pings/s', rate(samples.direct), rate(samples.mcpd), `${f(rate(samples.mcpd) / rate(samples.direct), 2)}× (target ≥ 0.8)`],
    ['first tools/list (ms)', median(firstList.direct), median(firstList.mcpd), `${f(median(firstList.mcpd) / median(firstList.direct), 2)}×`],
  ] as const;
  console.log(`server-everything ${bench.version} (streamableHttp) on loopback; ${ROUNDS} rounds, medians; ${PLAN.pings} pings, bursts of ${PLAN.burst}; load average ${loadavg().map((l) => f(l, 2)).join(' ')}`);
  console.log('');
  console.log('| | SDK HTTP client direct | mcpd run (daemon) | mcpd vs direct |');
  console.log('| --- | --- | --- | --- |');
  for (const [what, d, m, ratio] of rows) console.log(`| ${what} | ${f(d, what.includes('ms') ? 1 : 0)} | ${f(m, what.includes('ms') ? 1 : 0)} | ${ratio} |`);
  console.log('');
  console.log('Direct: the SDK\'s transport in this process; mcpd: a host app\'s path, stdio → mcpd run → daemon socket → HTTP. The first tools/list through mcpd includes spawning `mcpd run` (a local server\'s start-up, without the server\'s own).');
}

await main();
