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
 * install). Beside them the floor under `--no-daemon`: execa's spawn alone (execa-floor.ts). It
 * ends with the verdict on the `--no-daemon` start-up target (bench/targets.ts).
 *
 * `--cli PATH` times another build's command instead (a checkout's dist/cli/main.js, to compare
 * with what came before the bundles); the no-cache variants are then left out.
 *
 *   node dist/bench/startup.js [--runs 21] [--cli PATH]
 */
import { readFile, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { BenchDaemon, cli } from './daemon.js';
import { execaFloor } from './execa-floor.js';
import { timeToExit } from './measure.js';
import { prepareHome } from './setup.js';
import { count, f, median, signed } from './stats.js';
import { MS, TARGETS, verdict } from './targets.js';

const { values: flags } = parseArgs({ options: { runs: { type: 'string', default: '21' }, cli: { type: 'string' } } });
const RUNS = count(flags.runs, '--runs', 1);
const command = flags.cli ?? cli;
const bundle = (name: string) => join(cli, '..', name);
const FLOOR_EXECA = 'floor: execa → /bin/true (bundled, code cache)';

/** `uncached`: the bundle whose code cache is removed before each run of this variant. */
interface Variant { name: string; args: string[]; uncached?: string }

/** Removes the code caches of `file` (FILE.SIZE-MTIME.cache, cli/cached-require.ts). */
async function removeCaches(file: string): Promise<void> {
  const caches = (await readdir(dirname(file))).filter((name) => name.startsWith(`${basename(file)}.`) && name.endsWith('.cache'));
  await Promise.all(caches.map((name) => unlink(join(dirname(file), name)).catch(() => {})));
}

async function main(): Promise<void> {
  const { home, env } = await prepareHome();
  const preload = join(home, 'cpu.cjs');
  await writeFile(preload, "process.on('exit', () => { const u = process.cpuUsage(); require('node:fs').writeSync(2, `\\nmcpd-bench-cpu ${(u.user + u.system) / 1000}\\n`); });\n");
  // A server that exits at once, started with a secret: everything --no-daemon does before the spawn.
  const config = JSON.parse(await readFile(env.MCPD_CONFIG, 'utf8')) as { mcpServers: Record<string, object> };
  config.mcpServers.quick = { command: '/bin/true', args: [], env: { BENCH_TOKEN: '${local:bench/token}' } };
  await writeFile(env.MCPD_CONFIG, JSON.stringify(config));
  const floors = await execaFloor(home);
  let daemon: BenchDaemon | undefined;
  try {
    daemon = await BenchDaemon.start(env);
    const variants: Variant[] = [
      { name: 'node -e 0', args: ['-e', '0'] },
      { name: 'mcpd run (daemon) → 404', args: [command, 'run', '--no-autostart', 'nosuchserver'] },
      { name: 'mcpd run (daemon) → 404, no code cache', args: [cli, 'run', '--no-autostart', 'nosuchserver'], uncached: bundle('run-daemon.cjs') },
      { name: 'mcpd run --no-daemon → /bin/true', args: [command, 'run', '--no-daemon', 'quick'] },
      { name: 'mcpd run --no-daemon → /bin/true, no code cache', args: [cli, 'run', '--no-daemon', 'quick'], uncached: bundle('run-local.cjs') },
      { name: FLOOR_EXECA, args: floors.execa },
      { name: 'floor: child_process.spawn → /bin/true', args: floors.spawn },
    ].filter((v) => !(flags.cli && v.uncached));
    const loadBefore = loadavg()[0] ?? NaN;
    const wall = new Map<string, number[]>(variants.map((v) => [v.name, []]));
    const cpu = new Map<string, number[]>(variants.map((v) => [v.name, []]));
    // Round 0 is untimed: it writes the code caches and fills the disk cache.
    for (let round = 0; round <= RUNS; round++) {
      for (const variant of variants) {
        // The run writes the cache again at exit, so the next variant finds it as a normal run would.
        if (variant.uncached) await removeCaches(variant.uncached);
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
    await timeToExit(process.execPath, [cli, 'run', '--no-autostart', 'nosuchserver'], env);
    await timeToExit(process.execPath, [cli, 'run', '--no-daemon', 'quick'], env);
    const floorWall = median(wall.get('node -e 0')!);
    const floorCpu = median(cpu.get('node -e 0')!);
    const lines = [
      `${command} · node ${process.version} · load average (1 min) ${f(loadBefore, 2)} before, ${f(loadavg()[0] ?? NaN, 2)} after · ${RUNS} runs per variant, interleaved; medians`,
      '',
      '| variant | wall ms | over node -e 0 | CPU ms | over node -e 0 |',
      '| --- | ---: | ---: | ---: | ---: |',
      ...variants.map((v) => {
        const w = median(wall.get(v.name)!);
        const c = median(cpu.get(v.name)!);
        return `| ${v.name} | ${f(w, 1)} | ${v.name === 'node -e 0' ? '' : signed(w - floorWall, 1)} | ${f(c, 1)} | ${v.name === 'node -e 0' ? '' : signed(c - floorCpu, 1)} |`;
      }),
    ];
    // What --no-daemon adds to a server's time-to-initialize is this process's life up to the spawn:
    // the server's own start is the same either way, and /bin/true's is a millisecond.
    const local = 'mcpd run --no-daemon → /bin/true';
    if (wall.has(local)) {
      lines.push('', verdict('a', `${local}, wall over node -e 0`, 'at most', median(wall.get(local)!) - floorWall, TARGETS.noDaemonStartMs, MS,
        `CPU over node -e 0 ${signed(median(cpu.get(local)!) - floorCpu, 1)} ms; execa's spawn alone ${signed(median(wall.get(FLOOR_EXECA)!) - floorWall, 1)} ms wall, ${signed(median(cpu.get(FLOOR_EXECA)!) - floorCpu, 1)} ms CPU`));
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await daemon?.stop();
    await rm(home, { recursive: true, force: true, maxRetries: 5 });
  }
}

await main();
