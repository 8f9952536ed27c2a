/**
 * `node dist/bench/startup.js`: what `mcpd run` itself costs before any server answers, in the
 * bench's throwaway home, against `node -e 0`. Two figures per variant, interleaved:
 *
 * - wall: spawn → exit, as a host app waits for it;
 * - CPU: the process's user + system time at exit (a `--require` preload reads
 *   process.cpuUsage()). On a 2-core machine shared with other work, wall time moves by tens of
 *   milliseconds with the load; the CPU a process spends on its own start-up moves much less.
 *
 * Variants: the daemon path up to the daemon's 404 (`mcpd run --no-autostart nosuchserver`:
 * imports, connect, one refused upgrade), and the in-process path up to the spawn of a server
 * that exits at once (`/bin/true` with a secret from the local store: config, zod, the store,
 * execa), each with its code cache (the normal case) and without (the first run after an
 * install).
 *
 *   node dist/bench/startup.js [--runs 21]
 */
import { readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BenchDaemon, cli } from './daemon.js';
import { timeToExit } from './measure.js';
import { prepareHome } from './setup.js';
import { count, f, median, signed } from './stats.js';

const { values: flags } = parseArgs({ options: { runs: { type: 'string', default: '21' } } });
const RUNS = count(flags.runs, '--runs', 1);
const bundles = ['run-daemon.cjs', 'run-local.cjs'].map((name) => join(cli, '..', name));

interface Variant { name: string; args: string[]; uncached?: boolean }

async function main(): Promise<void> {
  const { home, env } = await prepareHome();
  const preload = join(home, 'cpu.cjs');
  await writeFile(preload, "process.on('exit', () => { const u = process.cpuUsage(); require('node:fs').writeSync(2, `\\nmcpd-bench-cpu ${(u.user + u.system) / 1000}\\n`); });\n");
  // A server that exits at once, started with a secret: everything --no-daemon does before the spawn.
  const config = JSON.parse(await readFile(env.MCPD_CONFIG, 'utf8')) as { mcpServers: Record<string, object> };
  config.mcpServers.quick = { command: '/bin/true', args: [], env: { BENCH_TOKEN: '${local:bench/token}' } };
  await writeFile(env.MCPD_CONFIG, JSON.stringify(config));
  let daemon: BenchDaemon | undefined;
  try {
    daemon = await BenchDaemon.start(env);
    const variants: Variant[] = [
      { name: 'node -e 0', args: ['-e', '0'] },
      { name: 'mcpd run (daemon) → 404', args: [cli, 'run', '--no-autostart', 'nosuchserver'] },
      { name: 'mcpd run (daemon) → 404, no code cache', args: [cli, 'run', '--no-autostart', 'nosuchserver'], uncached: true },
      { name: 'mcpd run --no-daemon → /bin/true', args: [cli, 'run', '--no-daemon', 'quick'] },
      { name: 'mcpd run --no-daemon → /bin/true, no code cache', args: [cli, 'run', '--no-daemon', 'quick'], uncached: true },
    ];
    const loadBefore = loadavg()[0] ?? NaN;
    const wall = new Map<string, number[]>(variants.map((v) => [v.name, []]));
    const cpu = new Map<string, number[]>(variants.map((v) => [v.name, []]));
    // Round 0 is untimed: it writes the code caches and fills the disk cache.
    for (let round = 0; round <= RUNS; round++) {
      for (const variant of variants) {
        if (variant.uncached) await Promise.all(bundles.map((b) => unlink(`${b}.cache`).catch(() => {})));
        const result = await timeToExit(process.execPath, ['--require', preload, ...variant.args], env);
        const used = /mcpd-bench-cpu ([\d.]+)/.exec(result.stderr);
        if (!used || (variant.name.includes('/bin/true') && result.code !== 0)) throw new Error(`${variant.name}: exit ${String(result.code)}: ${result.stderr}`);
        if (round > 0) {
          wall.get(variant.name)!.push(result.ms);
          cpu.get(variant.name)!.push(Number(used[1]));
        }
      }
    }
    // Leave the caches as a normal run would.
    await timeToExit(process.execPath, variants[1]!.args, env);
    await timeToExit(process.execPath, variants[3]!.args, env);
    const floorWall = median(wall.get('node -e 0')!);
    const floorCpu = median(cpu.get('node -e 0')!);
    const lines = [
      `node ${process.version} · load average (1 min) ${f(loadBefore, 2)} before, ${f(loadavg()[0] ?? NaN, 2)} after · ${RUNS} runs per variant, interleaved; medians`,
      '',
      '| variant | wall ms | over node -e 0 | CPU ms | over node -e 0 |',
      '| --- | ---: | ---: | ---: | ---: |',
      ...variants.map((v) => {
        const w = median(wall.get(v.name)!);
        const c = median(cpu.get(v.name)!);
        return `| ${v.name} | ${f(w, 1)} | ${v.name === 'node -e 0' ? '' : signed(w - floorWall, 1)} | ${f(c, 1)} | ${v.name === 'node -e 0' ? '' : signed(c - floorCpu, 1)} |`;
      }),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await daemon?.stop();
    await rm(home, { recursive: true, force: true, maxRetries: 5 });
  }
}

await main();
