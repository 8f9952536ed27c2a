/**
 * `mcpd rotate NAME [--now]` and `mcpd rotation status`: rotation is the daemon's job (it owns
 * the schedules and the servers to roll), so both ask the running daemon.
 */
import type { RotationStatus } from '../../daemon/rotation/scheduler.js';
import { output, type DaemonOptions } from '../context.js';
import { control } from '../../connect/daemon.js';

export async function rotate(name: string, options: DaemonOptions & { now?: boolean }): Promise<void> {
  if (!options.now) {
    const entry = (await control(options, 'rotation.status')).find((r) => r.name === name);
    output(options, entry ?? null, () => (entry ? `${describe(entry)}\n(pass --now to rotate it now)` : `no rotation named "${name}" in the config`));
    if (!entry) process.exitCode = 2;
    return;
  }
  const entry = await control(options, 'rotation.run', { name });
  output(options, entry, () => describe(entry));
  if (entry.lastError) process.exitCode = 1;
}

export async function status(options: DaemonOptions): Promise<void> {
  const entries = await control(options, 'rotation.status');
  output(options, entries, () => (entries.length ? entries.map(describe).join('\n') : 'no secrets under "rotation" in the config'));
}

function describe(r: RotationStatus): string {
  const flag = r.overdue ? 'OVERDUE' : r.state === 'warning' ? 'due soon' : r.state;
  const lines = [`${r.name} (${r.strategy}): ${flag}; last ${r.last} (${r.ageDays} days ago), next ${r.next}`];
  if (r.lastError) lines.push(`  last error: ${r.lastError}${r.retryAt ? ` (retrying at ${r.retryAt})` : ''}`);
  if (r.waiting) lines.push(`  waiting: ${r.waiting}`);
  if (r.strategy === 'remind' && (r.overdue || r.state === 'warning')) {
    lines.push(`  rotate it upstream, store it (mcpd secret set ${r.name}), then: mcpd rotate ${r.name} --now`);
  }
  return lines.join('\n');
}

