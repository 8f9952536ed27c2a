/**
 * `npm run bench:rollover`: the pause a host app sees while its server rolls onto fresh values.
 * One session through the daemon (`mcpd run everything`) sends pings; the stored secret changes
 * and `mcpd restart everything --roll` moves the server onto it. Reported: steady-state latency
 * (p50/p99) before the roll, the longest latency of a request sent during it, and failures, for
 * an idle session (one ping every 20 ms) and a busy one (4 lanes back to back), against the
 * server's own start-up time (spawn to initialize answer, started directly) in the same run.
 *
 *   node dist/bench/rollover.js [--runs 3] [--steady 200]
 */
import { rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { BenchDaemon, cli } from './daemon.js';
import { type Rpc, session } from './rpc.js';
import { prepareHome } from './setup.js';
import { count, f, median, msSince, quantile } from './stats.js';

const { values: flags } = parseArgs({ options: { runs: { type: 'string', default: '3' }, steady: { type: 'string', default: '200' } } });
const RUNS = count(flags.runs, '--runs', 1);
const STEADY = count(flags.steady, '--steady', 10);

interface Row { mode: string; p50: number; p99: number; longest: number; requests: number; failed: number }

/** Pings in `lanes` loops (`gapMs` apart) until `during` resolves; latencies and failures. */
async function load(rpc: Rpc, lanes: number, gapMs: number, during: () => Promise<void>): Promise<{ latencies: number[]; failed: number }> {
  const latencies: number[] = [];
  let failed = 0;
  let over = false;
  const lane = async () => {
    while (!over) {
      const t0 = process.hrtime.bigint();
      try {
        const reply = await rpc.call('ping');
        latencies.push(msSince(t0, reply.at));
      } catch {
        failed += 1;
      }
      if (gapMs) await sleep(gapMs);
    }
  };
  const running = Array.from({ length: lanes }, lane);
  await during();
  over = true;
  await Promise.all(running);
  return { latencies, failed };
}

async function roll(env: Record<string, string>, value: string): Promise<void> {
  await execa(process.execPath, [cli, 'secret', 'set', 'local:bench/token'], { env, extendEnv: false, input: value });
  const { stdout } = await execa(process.execPath, [cli, 'restart', 'everything', '--roll'], { env, extendEnv: false });
  if (!stdout.includes('rolled everything in 1 session')) throw new Error(`mcpd restart --roll said: ${stdout}`);
}

async function main(): Promise<void> {
  const { home, env, entry } = await prepareHome();
  const daemon = await BenchDaemon.start(env);
  const rows: Row[] = [];
  const startups: number[] = [];
  let secret = 0;
  try {
    for (let run = 0; run < RUNS; run++) {
      startups.push(await session({ name: 'direct', command: process.execPath, args: [entry, 'stdio'] }, env, async (_rpc, initMs) => initMs));
      for (const [mode, lanes, gapMs] of [['idle', 1, 20], ['busy', 4, 0]] as const) {
        rows.push(await session({ name: 'mcpd run', command: process.execPath, args: [cli, 'run', 'everything'] }, env, async (rpc) => {
          const steady: number[] = [];
          for (let i = 0; i < STEADY; i++) {
            const t0 = process.hrtime.bigint();
            steady.push(msSince(t0, (await rpc.call('ping')).at));
          }
          const during = await load(rpc, lanes, gapMs, () => roll(env, `bench-rolled-${++secret}-${'y'.repeat(16)}`));
          return { mode, p50: median(steady), p99: quantile(steady, 0.99), longest: Math.max(...during.latencies), requests: during.latencies.length + during.failed, failed: during.failed };
        }));
      }
    }
  } finally {
    await daemon.stop();
    await rm(home, { recursive: true, force: true });
  }
  const startup = median(startups);
  const [one, five] = loadavg();
  const lines = [
    `server start-up (spawn to initialize answer, direct), median of ${RUNS}: ${f(startup, 1)} ms; load average ${f(one!, 2)} / ${f(five!, 2)} (1 / 5 min)`,
    '',
    '| session | steady p50 (ms) | steady p99 (ms) | longest during roll (ms) | longest / start-up | requests during roll | failed |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.mode} | ${f(r.p50, 2)} | ${f(r.p99, 2)} | ${f(r.longest, 1)} | ${f(r.longest / startup, 2)}× | ${r.requests} | ${r.failed} |`),
  ];
  const worst = Math.max(...rows.map((r) => r.longest)) / startup;
  const failed = rows.reduce((n, r) => n + r.failed, 0);
  lines.push('', `target: no request fails (${failed} failed), longest pause under 1.5× start-up (${f(worst, 2)}×): ${failed === 0 && worst < 1.5 ? 'met' : 'NOT met'}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
