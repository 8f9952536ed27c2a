/**
 * The warm-pool lines of `bench/launch` (README "Warm pool"): time from spawning `mcpd run` to
 * the `initialize` result when the daemon has an instance of the server already booted, as a
 * ratio to spawning the server directly (target: at most 0.30×), for server-everything started
 * with node and for the line users replace, `npx -y @modelcontextprotocol/server-everything`
 * (npx finds it in node_modules; nothing is downloaded). Before each warm run the bench waits for
 * the pool to be full again, and after it checks that a pooled process was the one taken, so a
 * cold start is never counted as a warm one. Variants run interleaved, round-robin.
 *
 *   node dist/bench/launch.js --warm-only [--runs 10]
 */
import { readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import type { DaemonStatus } from '../daemon/protocol.js';
import { BenchDaemon, cli } from './daemon.js';
import { nodeFloor } from './measure.js';
import { root, session, type Variant } from './rpc.js';
import type { Bench } from './setup.js';
import { f, median, quantile } from './stats.js';

const NPX_ARGS = ['-y', '@modelcontextprotocol/server-everything', 'stdio'];
export const WARM = 'mcpd run (warm)';
export const WARM_NPX = 'mcpd run (warm, npx -y)';

/** Adds the two pooled servers to the bench home's config: server-everything by node and by npx, `warm: 1`, the same stored secret. */
async function addWarmServers(bench: Bench): Promise<void> {
  const config = JSON.parse(await readFile(bench.env.MCPD_CONFIG, 'utf8')) as { mcpServers: Record<string, object> };
  const env = { BENCH_TOKEN: '${local:bench/token}' };
  config.mcpServers['everything-warm'] = { command: process.execPath, args: [bench.entry, 'stdio'], env, warm: 1 };
  config.mcpServers['npx-warm'] = { command: 'npx', args: NPX_ARGS, cwd: root, env, warm: 1 };
  await writeFile(bench.env.MCPD_CONFIG, JSON.stringify(config));
}

/** The running pooled pids of `server`, once its pool is full (warm: 1). */
async function pooled(env: Record<string, string>, server: string): Promise<number[]> {
  for (let waited = 0; waited < 60_000; waited += 50) {
    const { stdout } = await execa(process.execPath, [cli, 'status', '--json'], { env, extendEnv: false });
    const pool = (JSON.parse(stdout) as DaemonStatus).servers.find((s) => s.name === server)?.pool;
    const pids = pool?.instances.filter((i) => i.state === 'running').map((i) => i.pid!) ?? [];
    if (pool?.state === 'ready' && pids.length > 0) return pids;
    await sleep(50);
  }
  throw new Error(`the warm pool of ${server} did not fill within 60 s`);
}

/** spawn → initialize result of `variant`; for a warm one, after its pool is full, and checked to have taken a pooled process. */
async function initMs(variant: Variant & { pool?: string }, env: Record<string, string>): Promise<number> {
  const before = variant.pool ? await pooled(env, variant.pool) : [];
  const ms = await session(variant, env, async (_rpc, init) => init);
  if (variant.pool) {
    const { stdout } = await execa(process.execPath, [cli, 'status', '--json'], { env, extendEnv: false });
    const now = (JSON.parse(stdout) as DaemonStatus).servers.find((s) => s.name === variant.pool)?.pool?.instances.map((i) => i.pid) ?? [];
    if (before.every((pid) => now.includes(pid))) throw new Error(`${variant.name}: the session did not take the pooled process (${before.join(', ')})`);
  }
  return ms;
}

/** Runs the warm lines `runs` times (plus one untimed round) against a daemon of their own, and returns the report's section. */
export async function warmBench(bench: Bench, runs: number): Promise<string> {
  await addWarmServers(bench);
  const { env, entry } = bench;
  const daemon = await BenchDaemon.start(env);
  const node = process.execPath;
  const variants: Array<Variant & { pool?: string }> = [
    { name: 'direct', command: node, args: [entry, 'stdio'] },
    { name: WARM, command: node, args: [cli, 'run', 'everything-warm'], pool: 'everything-warm' },
    { name: 'mcpd run (daemon, cold)', command: node, args: [cli, 'run', 'everything'] },
    { name: 'npx -y direct', command: 'npx', args: NPX_ARGS },
    { name: WARM_NPX, command: node, args: [cli, 'run', 'npx-warm'], pool: 'npx-warm' },
  ];
  const samples = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  const floor: number[] = [];
  const loadBefore = loadavg()[0] ?? NaN;
  try {
    for (let round = 0; round <= runs; round++) {
      const ms = await nodeFloor(env);
      if (round > 0) floor.push(ms);
      for (const variant of variants) {
        const init = await initMs(variant, env);
        if (round > 0) samples.get(variant.name)!.push(init);
      }
      process.stderr.write(`warm round ${round}/${runs} done${round > 0 ? '' : ' (untimed warm-up)'}\n`);
    }
  } finally {
    await daemon.stop();
  }
  const med = (name: string) => median(samples.get(name)!);
  const row = (name: string, against: string) => {
    const values = samples.get(name)!;
    const ratio = name === against ? '1.00×' : `${f(med(name) / med(against), 2)}×`;
    return `| ${name} | ${f(med(name), 1)} | ${f(quantile(values, 0.1), 1)}–${f(quantile(values, 0.9), 1)} | ${ratio} of ${against} |`;
  };
  return [
    `### Warm pool: time to initialize (ms), ${runs} runs per variant, interleaved`,
    '',
    `node -e 0 (the floor): ${f(median(floor), 1)} ms · load average (1 min) ${f(loadBefore, 2)} before, ${f(loadavg()[0] ?? NaN, 2)} after`,
    '',
    '| variant | median | p10–p90 | ratio |',
    '| --- | ---: | ---: | ---: |',
    row('direct', 'direct'),
    row(WARM, 'direct'),
    row('mcpd run (daemon, cold)', 'direct'),
    row('npx -y direct', 'npx -y direct'),
    row(WARM_NPX, 'npx -y direct'),
    '',
    `target: ${WARM} at most 0.30× direct: ${med(WARM) / med('direct') <= 0.3 ? 'met' : 'NOT met'}; ${WARM_NPX} against npx -y direct: ${f(med(WARM_NPX) / med('npx -y direct'), 2)}×`,
    '',
  ].join('\n');
}
