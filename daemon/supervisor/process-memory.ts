/** How much memory a process holds, for `mcpd status`: its resident set from /proc (Linux); undefined elsewhere or once it is gone. */
import { readFileSync } from 'node:fs';

/** The resident set of `pid` in KiB (VmRSS), read now; a few hundred bytes from /proc, so read synchronously as status is built. */
export function residentKiB(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}
