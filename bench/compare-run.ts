/**
 * `mcpd run` from this build beside `mcpd run` from another (`--other PATH/dist/cli/mcpd.cjs`,
 * an older commit's build), through one daemon of this build, with direct and the two bare
 * relays in the same interleaved rounds: whether a change to `mcpd run` moved its figures, with
 * the machine's drift taken out. A daemon keeps the older protocols, so an older `mcpd run`
 * speaks what it always spoke.
 *
 *   git worktree add /tmp/old REV && (cd /tmp/old && npm ci && npm run build)
 *   node dist/bench/compare-run.js --other /tmp/old/dist/cli/mcpd.cjs [--runs 8] [flags of bench/launch]
 */
import { rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { BareListener } from './bare-floor.js';
import { benchFlags } from './flags.js';
import { BenchDaemon, cli } from './daemon.js';
import { type Path, measure, measureBulk } from './measure.js';
import { miniServer, prepareHome } from './setup.js';
import { f, median } from './stats.js';

const { values: flags, runs: RUNS, latency: LATENCY, bulk: BULK } = benchFlags({ other: { type: 'string' } });
if (!flags.other) throw new Error('--other PATH: the mcpd.cjs of the build to compare with (see the usage at the top of bench/compare-run.ts)');
const other = flags.other;

async function main(): Promise<void> {
  const { home, env, entry } = await prepareHome();
  const node = process.execPath;
  const daemon = await BenchDaemon.start(env);
  const listeners = [
    await BareListener.start(join(home, 'bare-e.sock'), [node, entry, 'stdio'], env),
    await BareListener.start(join(home, 'bare-m.sock'), [node, miniServer], env),
  ];
  const paths = (server: string, listener: BareListener, direct: string[]): Path[] => [
    { name: 'direct', command: node, args: direct },
    listener.twoHops('two bare relays'),
    { name: 'mcpd run (this build)', command: node, args: [cli, 'run', server] },
    { name: 'mcpd run (--other)', command: node, args: [other, 'run', server] },
  ];
  const latency = paths('everything', listeners[0]!, [entry, 'stdio']);
  const bulk = paths('mini', listeners[1]!, [miniServer]);
  const p50 = new Map<string, number[]>(latency.map((p) => [p.name, []]));
  const rate = new Map<string, number[]>(latency.map((p) => [p.name, []]));
  const mib = new Map<string, number[]>(bulk.map((p) => [p.name, []]));
  const load = loadavg()[0]!;
  try {
    // Round 0 is an untimed warm-up: the daemon's own code runs warm in every timed round.
    for (let round = 0; round <= RUNS; round++) {
      for (const path of latency) {
        const sample = await measure(path, env, LATENCY);
        if (round === 0) continue;
        p50.get(path.name)!.push(median(sample.pingsUs));
        rate.get(path.name)!.push(sample.pingsPerSec);
      }
      for (const path of bulk) {
        const sample = await measureBulk(path, env, BULK);
        if (round > 0) mib.get(path.name)!.push(sample.mibPerSec);
      }
      process.stderr.write(`round ${round}/${RUNS} done${round === 0 ? ' (untimed warm-up)' : ''}\n`);
    }
  } finally {
    await daemon.stop();
    for (const listener of listeners) listener.stop();
    await rm(home, { recursive: true, force: true });
  }
  process.stdout.write(report(p50, rate, mib, load));
}

/** Each figure as the median of its runs, and of its ratio to the same round's direct or relays. */
function report(p50: Map<string, number[]>, rate: Map<string, number[]>, mib: Map<string, number[]>, load: number): string {
  const perRound = (values: number[], base: number[], op: (a: number, b: number) => number) => median(values.map((v, i) => op(v, base[i]!)));
  const relaysP50 = p50.get('two bare relays')!;
  const directRate = rate.get('direct')!;
  const relaysMib = mib.get('two bare relays')!;
  const rows = [...p50.keys()].map((name) => `| ${name} | ${f(median(p50.get(name)!), 0)} | ${f(perRound(p50.get(name)!, relaysP50, (a, b) => a - b), 0)} | ${f(median(rate.get(name)!), 0)} | ${f(perRound(rate.get(name)!, directRate, (a, b) => a / b), 2)} | ${f(median(mib.get(name)!), 0)} | ${f(perRound(mib.get(name)!, relaysMib, (a, b) => a / b), 2)} |`);
  return [
    `\n--other ${other} · ${RUNS} rounds, interleaved · load average (1 min) ${f(load, 2)} before, ${f(loadavg()[0]!, 2)} after`,
    'ping and pipelined: server-everything; bulk: test/fixtures/mini-mcp.js; each figure the median of the rounds, each ratio or difference taken within a round',
    '',
    '| path | ping p50 µs | over the relays µs | pipelined pings/s | ×direct | bulk MiB/s | ×relays |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
  ].join('\n');
}

await main();
