/**
 * `npm run bench:floor-remote`: the floor under bench/remote's ping target, measured as
 * bench/floor measures the local one. server-everything in its Streamable HTTP mode on loopback;
 * the same pings, side by side in one run, rounds interleaved:
 *
 *   (a) SDK direct       StreamableHTTPClientTransport in this process (bench/remote's baseline)
 *   (d) fetch direct     plain fetch POSTs from this process (bare-post.ts): the HTTP leg alone
 *   (b) two bare relays  stdio → bare-relay connect → Unix socket → bare-http-relay, which
 *                        POSTs each line with plain fetch: the least a bridge of mcpd's shape can do
 *   (e) bare relays+SDK  the same, the daemon end sending through the SDK's transport, as mcpd's did before lean-http.ts
 *   (c) mcpd run         the real thing, against a running daemon (as bench/remote)
 *
 * (b) − (a) is the floor of any stdio bridge to this server; (c) − (b) is mcpd's own cost over
 * it, of which (e) − (b) is the SDK transport's in the daemon and (c) − (e) the rest of mcpd;
 * (a) − (d) is what the SDK's transport costs per request over a bare POST.
 *
 *   node dist/bench/floor-remote.js [--rounds 3] [--pings 1000] [--burst 500]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BenchDaemon, cli } from './daemon.js';
import { AUTHORIZATION, closeDirect, direct, fetchDirect, remoteBench } from './http-direct.js';
import { pings, type Sample } from './measure.js';
import { killGroup, session } from './rpc.js';
import { count, f, median, quantile, signed } from './stats.js';

const { values: flags } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, pings: { type: 'string', default: '1000' }, burst: { type: 'string', default: '500' } } });
const ROUNDS = count(flags.rounds, '--rounds', 1);
const PLAN = { warmup: 100, pings: count(flags.pings, '--pings', 10), burst: count(flags.burst, '--burst', 10) };
const relay = fileURLToPath(new URL('./bare-relay.js', import.meta.url));
const httpRelay = fileURLToPath(new URL('./bare-http-relay.js', import.meta.url));
/** A variant that neither answers nor fails within this long fails the run (in-process clients have no process to kill). */
const WATCHDOG_MS = 120_000;

type Key = 'sdk' | 'fetch' | 'bare' | 'bareSdk' | 'mcpd';
const NAMES: Record<Key, string> = { sdk: '(a) SDK direct', fetch: '(d) fetch direct', bare: '(b) two bare relays', bareSdk: '(e) bare relays + SDK', mcpd: '(c) mcpd run (daemon)' };

async function within<T>(label: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${label}: no answer in ${WATCHDOG_MS} ms`)), WATCHDOG_MS); });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function main(): Promise<void> {
  const { server, url, bench } = await remoteBench();
  const sockets = { bare: join(bench.home, 'bare.sock'), bareSdk: join(bench.home, 'sdk.sock') };
  // The token in the environment, as the daemon has it, not in argv.
  const listen = (socket: string, ...more: string[]) => spawn(process.execPath, [httpRelay, socket, url, ...more], { env: { ...bench.env, BENCH_AUTHORIZATION: AUTHORIZATION }, detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  const listeners = [listen(sockets.bare), listen(sockets.bareSdk, '--sdk')];
  const connect = (key: 'bare' | 'bareSdk') => () => session({ name: NAMES[key], command: process.execPath, args: [relay, 'connect', sockets[key]] }, bench.env, (rpc, initMs) => pings(rpc, initMs, PLAN));
  let daemon: BenchDaemon | undefined;
  const runs: Record<Key, () => Promise<Sample>> = {
    sdk: async () => {
      const { rpc, initMs } = await direct(url);
      try { return await pings(rpc, initMs, PLAN); } finally { await closeDirect(rpc); }
    },
    fetch: async () => {
      const { rpc, initMs } = await fetchDirect(url);
      try { return await pings(rpc, initMs, PLAN); } finally { await rpc.client.end(); }
    },
    bare: connect('bare'),
    bareSdk: connect('bareSdk'),
    mcpd: () => session({ name: NAMES.mcpd, command: process.execPath, args: [cli, 'run', 'remote'] }, bench.env, (rpc, initMs) => pings(rpc, initMs, PLAN)),
  };
  const samples: Record<Key, Sample[]> = { sdk: [], fetch: [], bare: [], bareSdk: [], mcpd: [] };
  try {
    await within('bare-http-relay', Promise.all(listeners.map((l) => once(l.stdout, 'data'))));
    daemon = await BenchDaemon.start(bench.env);
    const loadBefore = loadavg()[0] ?? NaN;
    for (let round = 0; round < ROUNDS; round++) {
      // Interleaved, so a slow spell of the shared machine falls on every variant.
      for (const key of Object.keys(runs) as Key[]) samples[key].push(await within(NAMES[key], runs[key]()));
      process.stderr.write(`round ${round + 1}/${ROUNDS} done\n`);
    }
    print(samples, bench.version, loadBefore);
  } finally {
    await daemon?.stop();
    for (const l of listeners) killGroup(l.pid);
    await server.stop();
    await rm(bench.home, { recursive: true, force: true });
  }
}

function print(samples: Record<Key, Sample[]>, version: string, loadBefore: number): void {
  const at = (key: Key, q: number) => median(samples[key].map((s) => quantile(s.pingsUs, q)));
  const p50 = (key: Key) => at(key, 0.5);
  const rate = (key: Key) => median(samples[key].map((s) => s.pingsPerSec));
  const gap = (a: Key, b: Key) => `${signed(p50(a) - p50(b), 0)} µs`;
  const out = [
    `server-everything ${version} (streamableHttp) on loopback; ${ROUNDS} rounds interleaved · ${PLAN.pings} sequential pings per round (after ${PLAN.warmup}) · bursts of ${PLAN.burst}; medians over rounds`,
    `load average (1 min) ${f(loadBefore, 2)} before, ${f(loadavg()[0] ?? NaN, 2)} after`, '',
    '| path | ping p50 µs | ping p90 µs | p50 vs (a) µs | pipelined pings/s | ×(a) |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const key of Object.keys(NAMES) as Key[]) {
    const base = key === 'sdk';
    out.push(`| ${NAMES[key]} | ${f(p50(key), 0)} | ${f(at(key, 0.9), 0)} | ${base ? '' : signed(p50(key) - p50('sdk'), 0)} | ${f(rate(key), 0)} | ${base ? '' : f(rate(key) / rate('sdk'), 2)} |`);
  }
  out.push('',
    `mcpd over the SDK direct, (c) − (a): ${gap('mcpd', 'sdk')} (target ≤ +400 µs)`,
    `  the floor of any stdio bridge, (b) − (a): ${gap('bare', 'sdk')}`,
    `  mcpd's own cost over that floor, (c) − (b): ${gap('mcpd', 'bare')}`,
    `    of which the SDK transport in the daemon, (e) − (b): ${gap('bareSdk', 'bare')}, and the rest of mcpd, (c) − (e): ${gap('mcpd', 'bareSdk')}`,
    `the SDK transport's cost per request over a bare POST, (a) − (d): ${gap('sdk', 'fetch')}`,
    `the two bare hops alone, (b) − (d): ${gap('bare', 'fetch')}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

await main();
