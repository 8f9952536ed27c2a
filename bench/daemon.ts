/**
 * The daemon the "mcpd run (daemon)" variant talks to: started once with `mcpd start` in the
 * throwaway home before any timing, stopped with `mcpd stop` at the end, and its memory read
 * from /proc (its own RSS; the servers it spawns are processes of their own).
 */
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { type Rpc, type Variant, session, start, stop, INIT_PARAMS, killGroup } from './rpc.js';
import { median } from './stats.js';

/** The installed command (package.json's `bin`). */
export const cli = fileURLToPath(new URL('../cli/mcpd.cjs', import.meta.url));

export class BenchDaemon {
  private constructor(readonly pid: number, private readonly env: Record<string, string>) {}

  static async start(env: Record<string, string>): Promise<BenchDaemon> {
    await execa(process.execPath, [cli, 'start'], { env, extendEnv: false });
    try {
      const { stdout } = await execa(process.execPath, [cli, 'status', '--json'], { env, extendEnv: false });
      const { pid } = JSON.parse(stdout) as { pid: number };
      return new BenchDaemon(pid, env);
    } catch (error) {
      await execa(process.execPath, [cli, 'stop'], { env, extendEnv: false, reject: false });
      throw error;
    }
  }

  /** VmRSS and VmHWM of the daemon process, in KiB. */
  async memory(): Promise<{ rssKiB: number; hwmKiB: number }> {
    const status = await readFile(`/proc/${this.pid}/status`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssKiB: field('VmRSS'), hwmKiB: field('VmHWM') };
  }

  /** The median of `samples` RSS readings `gapMs` apart, after `settleMs`: V8 frees and grows in steps. */
  async settledRss(settleMs = 1000, samples = 5, gapMs = 200): Promise<number> {
    await sleep(settleMs);
    const readings: number[] = [];
    for (let i = 0; i < samples; i++) {
      if (i > 0) await sleep(gapMs);
      readings.push((await this.memory()).rssKiB);
    }
    return median(readings);
  }

  async stop(): Promise<void> {
    const stopped = await execa(process.execPath, [cli, 'stop'], { env: this.env, extendEnv: false, reject: false, timeout: 40_000 });
    if (stopped.exitCode !== 0) {
      process.stderr.write(`mcpd stop failed (${stopped.stderr.trim()}); killing pid ${this.pid}\n`);
      try { process.kill(this.pid, 'SIGKILL'); } catch { /* gone */ }
    }
  }
}

export interface MemorySample { idleKiB: number; openKiB: number; closedKiB: number; sessions: number }

/**
 * The daemon's RSS idle, with `n` idle sessions open (each an `mcpd run` that initialized and
 * then waits), and after they are closed. Two sessions are opened and closed first, so code the
 * first session loads is not counted as a per-session cost.
 */
export async function daemonMemory(daemon: BenchDaemon, variant: Variant, env: Record<string, string>, n: number): Promise<MemorySample> {
  for (let i = 0; i < 2; i++) await session(variant, env, () => Promise.resolve());
  const idleKiB = await daemon.settledRss();
  const open: Rpc[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const { rpc } = start(variant, env);
      open.push(rpc);
      const watchdog = setTimeout(() => killGroup(rpc.child.pid), 30_000);
      await rpc.call('initialize', INIT_PARAMS).finally(() => clearTimeout(watchdog));
      rpc.notify('notifications/initialized');
    }
    const openKiB = await daemon.settledRss();
    const { sessions } = await daemonSessions(env);
    if (sessions !== n) throw new Error(`the daemon reports ${sessions} open sessions, expected ${n}`);
    await Promise.all(open.splice(0).map(stop));
    const closedKiB = await daemon.settledRss(2000);
    return { idleKiB, openKiB, closedKiB, sessions: n };
  } finally {
    await Promise.all(open.map(stop));
  }
}

async function daemonSessions(env: Record<string, string>): Promise<{ sessions: number }> {
  const { stdout } = await execa(process.execPath, [cli, 'sessions', '--json'], { env, extendEnv: false });
  return { sessions: (JSON.parse(stdout) as unknown[]).length };
}
