/**
 * The control verbs: `status`, `ls`, `sessions`, `restart NAME`, `stop NAME`, `reload`, `events`, `logs NAME [-f]`.
 * Each asks the running daemon; none starts one. `--json` prints the daemon's answer as is.
 */
import { CONTROL_PATH, type DaemonEvent, EVENT_NOTIFICATION, LOG_NOTIFICATION, type LogLine, type PoolStatus, type ServerStatus } from '../../daemon/protocol.js';
import type { WebSocket } from 'ws';
import { control, daemonSocket, openSocket, request } from '../../connect/daemon.js';
import { follow } from '../follow.js';
import { McpdError } from '../../core/errors.js';
import { eventLine, output, type DaemonOptions, subjectWithRoles } from '../context.js';

export async function status(options: DaemonOptions): Promise<void> {
  const s = await control(options, 'status');
  output(options, s, () => [
    `mcpd daemon pid ${s.pid}, up ${age(s.startedAt)}, socket ${s.socket}`,
    `config ${s.config}${s.configError ? `\n  the last edit was NOT applied: ${s.configError}` : ''}`,
    ...(s.atNextStart.length ? [`  changed since the daemon started, applied when it starts again (mcpd stop): ${s.atNextStart.join(', ')}`] : []),
    ...(s.listeners.length ? [`also listening (token required) on ${s.listeners.join(', ')}`] : []),
    ...s.listenerFailures.map((failure) => `  NOT listening: ${failure}`),
    '',
    ...(s.servers.length ? s.servers.map(describe) : ['no servers in the config']),
    ...s.rotation.map((r) => `rotation: ${r.name} (${r.strategy}) ${r.overdue ? 'is OVERDUE' : r.state === 'warning' ? 'is due soon' : `is ${r.state}`}, next ${r.next}${r.lastError ? `; last error: ${r.lastError}` : ''}`),
  ].join('\n'));
}

function describe(server: ServerStatus): string {
  const lines = [`${server.name}: ${server.state}, ${server.sessions} session${server.sessions === 1 ? '' : 's'}, ${server.restarts} restart${server.restarts === 1 ? '' : 's'}`];
  for (const i of server.instances) {
    lines.push(`  session ${i.session}: ${i.state}${i.pid ? `, pid ${i.pid}` : ''}${i.since ? `, up ${age(i.since)}` : ''}`);
    if (i.rollover) lines.push(`    roll failed, the old process keeps serving: ${i.rollover}`);
    for (const lease of i.leases) lines.push(`    lease of ${lease.ref} until ${lease.expiresAt}${lease.renewable ? ', renewed' : ', not renewable'}`);
  }
  if (server.lastError) lines.push(`  last error: ${server.lastError}`);
  if (server.pool) lines.push(...describePool(server.pool));
  if (server.refs.length) lines.push(`  uses ${server.refs.join(' ')}`);
  return lines.join('\n');
}

function describePool(pool: PoolStatus): string[] {
  if (pool.held) return [`  warm pool: not pre-started: ${pool.held}`];
  const running = pool.instances.filter((i) => i.state === 'running').length;
  const lines = [`  warm pool: ${pool.state}, ${running} of ${pool.warm} ready`];
  for (const i of pool.instances) {
    lines.push(`    pooled: ${i.state}${i.pid ? `, pid ${i.pid}` : ''}${i.since ? `, up ${age(i.since)}` : ''}${i.rssKiB === undefined ? '' : `, ${(i.rssKiB / 1024).toFixed(1)} MiB`}`);
  }
  if (pool.lastError) lines.push(`    pool error: ${pool.lastError}`);
  return lines;
}

export async function list(options: DaemonOptions): Promise<void> {
  const servers = await control(options, 'servers.list');
  output(options, servers, () => (servers.length ? servers.map((s) => `${s.name}\t${s.state}\t${s.sessions}\t${s.command}`).join('\n') : 'no servers in the config'));
}

export async function sessions(options: DaemonOptions): Promise<void> {
  const open = await control(options, 'sessions.list');
  output(options, open, () => (open.length ? open.map((s) => `${s.id}\t${s.server}\t${s.state}\t${s.pid ?? '-'}\t${age(s.openedAt)}\t${subjectWithRoles(s.subject, s.roles)}\t${s.client ?? ''}`).join('\n') : 'no open sessions'));
}

export async function restart(name: string, options: DaemonOptions, roll = false): Promise<void> {
  const result = await control(options, 'server.restart', { name, roll });
  output(options, result, () => `${roll ? 'rolled' : 'restarted'} ${name} in ${result.restarted} session${result.restarted === 1 ? '' : 's'}`);
}

export async function stopServer(name: string, options: DaemonOptions): Promise<void> {
  const result = await control(options, 'server.stop', { name });
  output(options, result, () => `stopped ${name} in ${result.stopped} session${result.stopped === 1 ? '' : 's'}; the daemon keeps running`);
}

export async function reload(options: DaemonOptions): Promise<void> {
  const diff = await control(options, 'config.reload');
  output(options, diff, () => {
    const parts = (['added', 'changed', 'removed'] as const).filter((k) => diff[k].length).map((k) => `${k}: ${diff[k].join(', ')}`);
    const later = diff.atNextStart.length ? `\n${diff.atNextStart.join(', ')} changed: applied when the daemon starts again (mcpd stop)` : '';
    return `${parts.length ? `reloaded the config; ${parts.join('; ')}` : 'reloaded the config; no server changed'}${later}`;
  });
  if (diff.listenerFailures.length) {
    throw new McpdError('CONFIG_INVALID', `the rest of the config was applied, but the daemon does not listen where socket.listen asks: ${diff.listenerFailures.join('; ')}`, {
      hint: 'fix or remove those entries of socket.listen; the daemon tries them again at the next reload',
    });
  }
}

/** Prints each event the daemon logs from now on, until the daemon stops or the user interrupts. */
export async function events(options: DaemonOptions): Promise<void> {
  const ws = await openSocket(daemonSocket(options), CONTROL_PATH);
  const done = follow<DaemonEvent>(ws, EVENT_NOTIFICATION, (event) => (options.json ? JSON.stringify(event) : eventLine(event)));
  await ask(ws, 'events.subscribe', {});
  await done;
}

export async function logs(name: string, options: DaemonOptions & { follow?: boolean; lines: string }): Promise<void> {
  const ws = await openSocket(daemonSocket(options), CONTROL_PATH);
  const format = (line: LogLine) => (options.json ? JSON.stringify(line) : `${line.time} [${line.session}] ${line.line}`);
  const done = options.follow ? follow(ws, LOG_NOTIFICATION, format) : undefined;
  const { lines } = await ask(ws, 'logs.tail', { name, lines: Number(options.lines), follow: options.follow === true }) as { lines: LogLine[] };
  for (const line of lines) process.stdout.write(`${format(line)}\n`);
  if (done) await done;
  else ws.close();
}

/** A request on a connection kept open to follow; a refusal closes it, so the process can exit. */
async function ask(ws: WebSocket, method: string, params: object): Promise<unknown> {
  try {
    return await request(ws, method, params);
  } catch (error) {
    ws.close();
    throw error;
  }
}

function age(iso: string): string {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return s < 172_800 ? `${Math.round(s / 3600)}h` : `${Math.round(s / 86_400)}d`;
}
