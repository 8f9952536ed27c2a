/** Reads /proc to see which processes exist: how tests prove a process group is really gone. */
import { readFile, readdir } from 'node:fs/promises';

interface Stat {
  pid: number;
  ppid: number;
  pgrp: number;
  state: string;
}

async function statOf(pid: number): Promise<Stat | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    // comm may hold spaces and parentheses: the fields we want follow the last ')'.
    const [state, ppid, pgrp] = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid, ppid: Number(ppid), pgrp: Number(pgrp), state: state ?? '?' };
  } catch {
    return undefined;
  }
}

async function allStats(): Promise<Stat[]> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
  const stats = await Promise.all(pids.map(statOf));
  return stats.filter((s): s is Stat => s !== undefined && s.state !== 'Z');
}

export async function childrenOf(pid: number): Promise<number[]> {
  return (await allStats()).filter((s) => s.ppid === pid).map((s) => s.pid);
}

export async function groupMembers(pgid: number): Promise<number[]> {
  return (await allStats()).filter((s) => s.pgrp === pgid).map((s) => s.pid);
}

/** argv of a process, NUL-separated as the kernel keeps it. */
export async function cmdlineOf(pid: number): Promise<string> {
  return readFile(`/proc/${pid}/cmdline`, 'latin1');
}

/** Live (non-zombie) processes among `pids`. */
export async function alive(pids: readonly number[]): Promise<number[]> {
  const stats = await Promise.all(pids.map(statOf));
  return stats.filter((s): s is Stat => s !== undefined && s.state !== 'Z').map((s) => s.pid);
}

/** Polls until none of `pids` is alive; fails naming the survivors after `timeoutMs`. */
export async function waitUntilGone(pids: readonly number[], timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = await alive(pids);
    if (left.length === 0) return;
    if (Date.now() > deadline) throw new Error(`processes still alive after ${timeoutMs} ms: ${left.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
