/**
 * `node dist/bench/floor.js`: what the daemon path's shape costs before mcpd does anything, on
 * this machine. The daemon path puts two relay processes between a host app and its server
 * (`mcpd run` and the daemon, README "The daemon"); bench/bare-relay.ts is the least
 * such a relay can be in Node (streams piped, nothing read). Side by side on `mini`, interleaved:
 *
 *   direct            node mini-mcp.js
 *   one bare relay    a Node process that spawns mini and pipes stdio through itself
 *   two bare relays   connect → Unix socket → listen (spawns mini): the daemon path's hops
 *   mcpd run (daemon) the real thing, against a running daemon
 *
 * The gap from direct to "two bare relays" is the floor under any implementation of the
 * design here; what mcpd adds over that floor is its own cost, judged against issue 15's targets
 * (bench/targets.ts). bench/launch runs the two bare relays too, beside its own variants.
 *
 * With `--server everything` the same runs on server-everything (the server bench/launch's
 * ping and pipelined targets are measured on); it has no tool that returns a bulk result, so
 * the bulk columns are left out.
 *
 *   node dist/bench/floor.js [--server mini|everything] [--runs 10] [--pings 200] [--warmup 20] [--burst 2000] [--bulk-mib 10] [--bulk-calls 5]
 */
import { rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { BareListener } from './bare-floor.js';
import { benchFlags } from './flags.js';
import { BenchDaemon, cli } from './daemon.js';
import { type BulkSample, type Sample, bulkCalls, pings } from './measure.js';
import { type Variant, session } from './rpc.js';
import { miniServer, prepareHome } from './setup.js';
import { f, median, quantile, signed } from './stats.js';
import { RATIO, TARGETS, US, verdict } from './targets.js';

const { values: flags, runs: RUNS, latency: LATENCY, bulk: BULK } = benchFlags({ server: { type: 'string', default: 'mini' } });
if (flags.server !== 'mini' && flags.server !== 'everything') throw new Error(`--server takes mini or everything, got ${flags.server}`);
const SERVER = flags.server;

async function main(): Promise<void> {
  const { home, env, entry } = await prepareHome();
  const relaySocket = join(home, 'bare.sock');
  const node = process.execPath;
  const server = SERVER === 'mini' ? [node, miniServer] : [node, entry, 'stdio'];
  const bulkToo = SERVER === 'mini';
  const listener = await BareListener.start(relaySocket, server, env);
  const variants: Variant[] = [
    { name: 'direct', command: server[0]!, args: server.slice(1) },
    listener.oneHop('one bare relay'),
    listener.twoHops('two bare relays'),
    { name: 'mcpd run (daemon)', command: node, args: [cli, 'run', SERVER] },
  ];
  let daemon: BenchDaemon | undefined;
  try {
    daemon = await BenchDaemon.start(env);
    const loadBefore = loadavg()[0] ?? NaN;
    const rows = new Map(variants.map((v) => [v.name, { latency: [] as Sample[], bulk: [] as BulkSample[] }]));
    for (let round = 0; round <= RUNS; round++) {
      for (const variant of variants) {
        const latency = await session(variant, env, (rpc, initMs) => pings(rpc, initMs, LATENCY));
        const bulk = bulkToo ? await session(variant, env, (rpc, initMs) => bulkCalls(rpc, initMs, BULK)) : undefined;
        // Round 0 warms every path up and is not counted.
        if (round > 0) {
          rows.get(variant.name)!.latency.push(latency);
          if (bulk) rows.get(variant.name)!.bulk.push(bulk);
        }
      }
      process.stderr.write(`round ${round}/${RUNS} done\n`);
    }
    const p50 = (name: string) => median(rows.get(name)!.latency.map((s) => quantile(s.pingsUs, 0.5)));
    const rate = (name: string) => median(rows.get(name)!.latency.map((s) => s.pingsPerSec));
    const mib = (name: string) => median(rows.get(name)!.bulk.map((s) => s.mibPerSec));
    const out = [
      `server ${SERVER}, ${RUNS} runs interleaved · ${LATENCY.pings} sequential pings per run (after ${LATENCY.warmup}) · bursts of ${LATENCY.burst}${bulkToo ? ` · ${BULK.calls} bulk calls of ${BULK.bytes / 2 ** 20} MiB per run` : ''}`,
      `load average (1 min) ${f(loadBefore, 2)} before, ${f(loadavg()[0] ?? NaN, 2)} after`, '',
      `| path | ping p50 µs | p50 vs direct µs | pipelined pings/s | ×direct |${bulkToo ? ' bulk MiB/s | ×direct |' : ''}`,
      `| --- | ---: | ---: | ---: | ---: |${bulkToo ? ' ---: | ---: |' : ''}`,
    ];
    for (const { name } of variants) {
      const base = name === 'direct';
      const bulkCells = bulkToo ? ` ${f(mib(name), 0)} | ${base ? '' : f(mib(name) / mib('direct'), 2)} |` : '';
      out.push(`| ${name} | ${f(p50(name), 0)} | ${base ? '' : signed(p50(name) - p50('direct'), 0)} | ${f(rate(name), 0)} | ${base ? '' : f(rate(name) / rate('direct'), 2)} |${bulkCells}`);
    }
    const floor = p50('two bare relays') - p50('direct');
    const ratio = (of: (name: string) => number, a: string, b: string) => of(a) / of(b);
    out.push('', `the design's two hops alone: ping p50 ${signed(floor, 0)} µs over direct, pipelined ×${f(ratio(rate, 'two bare relays', 'direct'), 2)}${bulkToo ? `, bulk ×${f(ratio(mib, 'two bare relays', 'direct'), 2)}` : ''}`,
      verdict('d', 'mcpd run (daemon) ping p50 over the two bare relays\'', 'at most', p50('mcpd run (daemon)') - p50('two bare relays'), TARGETS.daemonOwnPingUs, US),
      verdict('e', 'mcpd run (daemon) pipelined pings/s, ×direct', 'at least', ratio(rate, 'mcpd run (daemon)', 'direct'), TARGETS.daemonPipelinedRatio, RATIO,
        `×${f(ratio(rate, 'mcpd run (daemon)', 'two bare relays'), 2)} of the bare relays'${SERVER === 'mini' ? '; bench/launch judges this on server-everything, whose own rate is the bound there' : ''}`));
    if (bulkToo) out.push(verdict('f', 'mcpd run (daemon) bulk MiB/s, × the two bare relays\'', 'at least', ratio(mib, 'mcpd run (daemon)', 'two bare relays'), TARGETS.daemonBulkOfRelays, RATIO));
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    await daemon?.stop();
    listener.stop();
    await rm(home, { recursive: true, force: true });
  }
}

await main();
