/**
 * A server runs as the leader of its own process group, because what it starts (npx's shell
 * and node, a wrapper script's real server) must go when it goes. These helpers signal and
 * wait on the whole group, by its id, which is the leader's pid.
 */
import { readFile, readdir } from 'node:fs/promises';
import { constants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

const POLL_MS = 25;
/** How long SIGKILLed processes get to vanish before reaping gives up (they cannot refuse). */
const KILL_WAIT_MS = 2000;

/** Sends `signal` (0: none, only the existence check) to every process of the group; false when it is empty. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    // EPERM: a member changed user (setuid); it is not ours to end, so the group counts as gone.
    if ((error as NodeJS.ErrnoException).code === 'EPERM') return false;
    throw error;
  }
}

/** Whether any process of the group is still running (zombies do not count). */
export async function groupAlive(pgid: number): Promise<boolean> {
  if (!signalGroup(pgid, 0)) return false;
  // kill(2) also finds zombies, and an orphaned zombie lasts until init reaps it — seconds
  // under some inits, forever under a container's PID 1 that does not reap. /proc tells them apart.
  if (process.platform !== 'linux') return true;
  return (await liveMembers(pgid)) > 0;
}

async function liveMembers(pgid: number): Promise<number> {
  const pids = (await readdir('/proc').catch(() => [] as string[])).filter((name) => /^\d+$/.test(name));
  const states = await Promise.all(pids.map((pid) => readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')));
  return states.filter((stat) => {
    // comm may hold spaces and parentheses: the fields we want follow the last ')'.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return pgrp === String(pgid) && state !== 'Z';
  }).length;
}

/** Polls until the group is empty; false if it is not within `ms`. */
export async function waitGroupGone(pgid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (!(await groupAlive(pgid))) return true;
    if (Date.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
}

/**
 * Ends what is left of a group whose leader has exited: SIGTERM, `graceMs` to go, then
 * SIGKILL. Resolves true once nothing of it runs; false only if a process outlived SIGKILL
 * (uninterruptible I/O), after a bounded wait.
 */
export async function reapGroup(pgid: number, graceMs: number): Promise<boolean> {
  if (!signalGroup(pgid, 'SIGTERM')) return true;
  if (await waitGroupGone(pgid, graceMs)) return true;
  signalGroup(pgid, 'SIGKILL');
  return waitGroupGone(pgid, KILL_WAIT_MS);
}

/** The shell's convention for a process's status: its exit code, or 128 + the signal's number. */
export function shellExitCode(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return signal ? 128 + constants.signals[signal] : 1;
}
