/**
 * `node dist/bench/floor.js`: what the daemon path's shape costs before mcpd does anything, on
 * this machine. The daemon path puts two relay processes between a host app and its server
 * (`mcpd run` and the daemon, DESIGN.md "Daemon and socket"); bench/bare-relay.ts is the least
 * such a relay can be in Node (streams piped, nothing read). Side by side on `mini`, interleaved:
 *
 *   direct            node mini-mcp.js
 *   one bare relay    a Node process that spawns mini and pipes stdio through itself
 *   two bare relays   connect → Unix socket → listen (spawns mini): the daemon path's hops
 *   mcpd run (daemon) the real thing, against a running daemon
 *
 * The gap from direct to "two bare relays" is the floor under any implementation of the
 * design here; what mcpd adds over that floor is its own cost.
 *
 *   node dist/bench/floor.js [--runs 10] [--pings 200] [--warmup 20] [--burst 2000] [--bulk-mib 10] [--bulk-calls 5]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchFlags } from './flags.js';
import { BenchDaemon, cli } from './daemon.js';
import { type BulkSample, type Sample, bulkCalls, pings } from './measure.js';
import { type Variant, session } from './rpc.js';
import { miniServer, prepareHome } from './setup.js';
import { f, median, quantile, signed } from './stats.js';

const { runs: RUNS, latency: LATENCY, bulk: BULK } = benchFlags({});
const relay = fileURLToPath(new URL('./bare-relay.js', import.meta.url));

async function main(): Promise<void> {
  const { home, env } = await prepareHome();
  const relaySocket = join(home, 'bare.sock');
  const node = process.execPath;
  const variants: Variant[] = [
    { name: 'direct', command: node, args: [miniServer] },
    { name: 'one bare relay', command: node, args: [relay, 'spawn', '--', node, miniServer] },
    { name: 'two bare relays', command: node, args: [relay, 'connect', relaySocket] },
    { name: 'mcpd run (daemon)', command: node, args: [cli, 'run', 'mini'] },
  ];
  const listener = spawn(node, [relay, 'listen', relaySocket, '--', node, miniServer], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let daemon: BenchDaemon | undefined;
  try {
    await once(listener.stdout, 'data');
    daemon = await BenchDaemon.start(env);
    const loadBefore = loadavg()[0] ?? NaN;
    const rows = new Map(variants.map((v) => [v.name, { latency: [] as Sample[], bulk: [] as BulkSample[] }]));
    for (let round = 0; round <= RUNS; round++) {
      for (const variant of variants) {
        const latency = await session(variant, env, (rpc, initMs) => pings(rpc, initMs, LATENCY));
        const bulk = await session(variant, env, (rpc, initMs) => bulkCalls(rpc, initMs, BULK));
        // Round 0 warms every path up and is not counted.
        if (round > 0) {
          rows.get(variant.name)!.latency.push(latency);
          rows.get(variant.name)!.bulk.push(bulk);
        }
      }
      process.stderr.write(`round ${round}/${RUNS} done\n`);
    }
    const p50 = (name: string) => median(rows.get(name)!.latency.map((s) => quantile(s.pingsUs, 0.5)));
    const rate = (name: string) => median(rows.get(name)!.latency.map((s) => s.pingsPerSec));
    const mib = (name: string) => median(rows.get(name)!.bulk.map((s) => s.mibPerSec));
    const out = [
      `server mini, ${RUNS} runs interleaved · ${LATENCY.pings} sequential pings per run (after ${LATENCY.warmup}) · bursts of ${LATENCY.burst} · ${BULK.calls} bulk calls of ${BULK.bytes / 2 ** 20} MiB per run`,
      `load average (1 min) ${f(loadBefore, 2)} before, ${f(loadavg()[0] ?? NaN, 2)} after`, '',
      '| path | ping p50 µs | p50 vs direct µs | pipelined pings/s | ×direct | bulk MiB/s | ×direct |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ];
    for (const { name } of variants) {
      const base = name === 'direct';
      out.push(`| ${name} | ${f(p50(name), 0)} | ${base ? '' : signed(p50(name) - p50('direct'), 0)} | ${f(rate(name), 0)} | ${base ? '' : f(rate(name) / rate('direct'), 2)} | ${f(mib(name), 0)} | ${base ? '' : f(mib(name) / mib('direct'), 2)} |`);
    }
    const floor = p50('two bare relays') - p50('direct');
    out.push('', `the design's two hops alone: ping p50 ${signed(floor, 0)} µs over direct (target for mcpd: +150 µs), bulk ×${f(mib('two bare relays') / mib('direct'), 2)} (target ×0.80)`,
      `mcpd over that floor: ping p50 ${signed(p50('mcpd run (daemon)') - p50('two bare relays'), 0)} µs, bulk ×${f(mib('mcpd run (daemon)') / mib('two bare relays'), 2)} of the bare relays' rate`);
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    await daemon?.stop();
    listener.kill();
    await rm(home, { recursive: true, force: true });
  }
}

await main();
