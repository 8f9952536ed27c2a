/**
 * `mcpd daemon` (foreground, for systemd and launchd), `mcpd start` and `mcpd stop`.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { stateDir } from '../../core/paths.js';
import { McpdError } from '../../core/errors.js';
import { takeOwnCredentials } from '../../core/own-credentials.js';
import { Daemon } from '../../daemon/daemon.js';
import { createLogger } from '../../daemon/log.js';
import { answers } from '../../core/socket-probe.js';
import { activationFd } from '../../daemon/server/listen.js';
import { control, daemonSocket, ensureDaemon } from '../../connect/daemon.js';
import { resolveConfigPath, output, type DaemonOptions } from '../context.js';
import { mcpdVersion } from '../version.js';

/** Runs the daemon in this process until it is stopped. */
export async function daemon(options: DaemonOptions): Promise<void> {
  const path = daemonSocket(options);
  const fd = activationFd(process.env);
  // Before anything can spawn: from here on only the providers (through `env`) hold the
  // store passphrase and backend tokens; no child can inherit them from process.env.
  const env = takeOwnCredentials(process.env);
  const log = createLogger(stateDir(process.env));
  // Listening before start-up has finished (the socket answers once bound, then rotation and the
  // watcher start): a signal then must still stop the daemon cleanly, not kill it outright.
  const started: { daemon?: Daemon; early?: string } = {};
  const stop = (signal: string) => (started.daemon ? void started.daemon.stop(`received ${signal}`) : (started.early ??= signal));
  // `on`, not `once`: signal-exit (in proper-lockfile and write-file-atomic) re-raises a signal
  // that no other listener is left to handle, which would kill the daemon in the middle of its stop.
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  const daemon = await Daemon.start({
    configPath: resolveConfigPath(options),
    binding: fd === undefined ? { kind: 'path', path } : { kind: 'fd', fd },
    socketPath: path,
    stateDir: stateDir(process.env),
    env,
    log,
    limitLog: (limits) => log.limit(limits),
    version: mcpdVersion(),
  });
  started.daemon = daemon;
  if (started.early) void daemon.stop(`received ${started.early}`);
  process.on('SIGHUP', () => void daemon.reload().catch(() => {}));
  await daemon.stopped;
  process.exit(0);
}

export async function start(options: DaemonOptions): Promise<void> {
  const path = await ensureDaemon({ ...options, autostart: true });
  const status = await control(options, 'status');
  output(options, { socket: path, pid: status.pid }, () => `mcpd daemon running on ${path} (pid ${status.pid})`);
}

export async function stop(options: DaemonOptions): Promise<void> {
  const path = daemonSocket(options);
  if (!(await answers(path))) {
    output(options, { stopped: false, socket: path }, () => `no daemon answers on ${path}; nothing to stop`);
    return;
  }
  const { pid } = await control(options, 'status');
  await control(options, 'daemon.stop');
  // Every server gets MCP's shutdown first; wait for the daemon itself to be gone (it writes its
  // last log line after the socket), so a following start, or removing its files, is clean.
  for (let waited = 0; (await answers(path)) || alive(pid); waited += 50) {
    if (waited > 30_000) throw new McpdError('DAEMON_UNREACHABLE', `the daemon on ${path} did not stop within 30 s`, { hint: 'look at mcpd status, or end it with kill' });
    await sleep(50);
  }
  output(options, { stopped: true, socket: path }, () => `stopped the daemon on ${path}`);
}


/** Whether `pid` still runs; an exited process its parent has not reaped yet (a zombie, on Linux) does not. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (macOS): kill(0) is all there is
  }
}
