/**
 * One server process: spawned without a shell as the leader of a process group of its own,
 * its stderr masked line by line, and ended with MCP's stdio shutdown (close stdin, wait,
 * SIGTERM, wait, SIGKILL) applied to the whole group, because `npx` and wrapper scripts leave
 * grandchildren. Whenever the leader exits, whatever is left of its group is reaped too.
 *
 * Used by `mcpd run --no-daemon` (stdio inherited) and by the daemon's supervisor (stdio piped).
 * The supervisor takes `startChild` as a `StartChild` argument so its state machine can be
 * tested against a fake; this module's own tests use real processes.
 */
import { once } from 'node:events';
import { stat } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { execa, type ResultPromise } from 'execa';
import { McpdError } from '../../core/errors.js';
import { createMaskingLineStream, type InjectedValue, Masker } from './masker.js';
import { reapGroup, shellExitCode, signalGroup } from './process-group.js';

export interface LaunchSpec {
  /** Shown in errors when given (the server's name in the config). */
  readonly name?: string;
  readonly command: string;
  readonly args: readonly string[];
  /** The complete environment, from buildChildEnv: nothing else is inherited. */
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string | undefined;
  /** The injected values, masked in the server's stderr. */
  readonly secrets: readonly InjectedValue[];
}

export interface StopOptions {
  /** After closing a piped stdin, how long the server gets to exit on its own (default 2 s). */
  readonly stdinGraceMs?: number;
  /** After SIGTERM to the group, how long before SIGKILL (default 3 s). */
  readonly termGraceMs?: number;
}

export interface ChildOptions {
  /** 'inherit' hands the server our own fd (mcpd stays out of the data path); 'pipe' exposes a stream. */
  readonly stdin: 'inherit' | 'pipe' | 'ignore';
  readonly stdout: 'inherit' | 'pipe';
  /** Defaults for stop(). */
  readonly stop?: StopOptions;
  /** After the leader exits, how long the rest of its group gets between SIGTERM and SIGKILL (default 1 s). */
  readonly reapGraceMs?: number;
  /** After the group is gone, how long stderr may stay open (held by an escaped process) before it is cut (default 1 s). */
  readonly stderrCloseMs?: number;
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The shell's convention: the code, or 128 + the signal's number. */
  readonly exitCode: number;
}

/** A running server as the launcher's users see it; a fake can stand in for it in state-machine tests. */
export interface ServerProcess {
  /** The leader's pid, which is also the process group's id. */
  readonly pid: number;
  /** With stdin 'pipe'; closing it is the first step of MCP's shutdown. */
  readonly stdin: Writable | undefined;
  /** With stdout 'pipe': JSON-RPC, never masked. */
  readonly stdout: Readable | undefined;
  /** The server's stderr, masked, a line at a time. Read or pipe it: a full pipe stalls the server. */
  readonly stderr: Readable;
  /** Variables whose value is too short to be masked. */
  readonly unmaskable: readonly string[];
  /** Resolves once the leader has exited and the rest of its group is gone; never rejects. */
  readonly exited: Promise<ExitInfo>;
  /** Set once the leader has exited (its group may still be being reaped). */
  readonly exitInfo: ExitInfo | undefined;
  /** Sends `signal` to the whole process group. */
  signal(signal: NodeJS.Signals): void;
  /** MCP's stdio shutdown, applied to the group; resolves when it is all gone. A second call joins the first. */
  stop(options?: StopOptions): Promise<ExitInfo>;
}

/** How the launcher is injected into what drives it (runForeground, the supervisor). */
export type StartChild = (spec: LaunchSpec, options: ChildOptions) => Promise<ServerProcess>;

/** Starts a server; rejects with SPAWN_FAILED when its command or cwd cannot be used. */
export const startChild: StartChild = async (spec, options) => {
  await checkCwd(spec);
  const subprocess = execa(spec.command, spec.args, {
    cwd: spec.cwd,
    env: spec.env,
    extendEnv: false,
    shell: false,
    // setsid(): its own session and process group, so the whole tree can be signalled and
    // reaped, and a Ctrl-C on our terminal reaches it only through us.
    detached: true,
    stdin: options.stdin,
    stdout: options.stdout,
    stderr: 'pipe',
    // Long-lived: nothing is collected in memory, and the result is read from events, not the promise.
    buffer: false,
    reject: false,
    windowsHide: true,
  });
  const failure = await spawnOutcome(subprocess);
  if (failure !== undefined) throw await spawnFailed(spec, failure);
  return new GroupChild(subprocess, new Masker(spec.secrets), options);
};

/** undefined once the process runs; the error when it could not start. */
async function spawnOutcome(subprocess: ResultPromise): Promise<unknown> {
  const spawned = once(subprocess, 'spawn').then(() => undefined, (error: unknown) => error);
  // An error execa catches before spawn() returns comes only through its result.
  const early = subprocess.then((result) => (result.failed ? (result.cause ?? result) : undefined));
  return Promise.race([spawned, early]);
}

/**
 * Groups still running. If mcpd itself exits (a crash, process.exit()), they get SIGTERM: a
 * detached child would otherwise outlive it unnoticed, and execa's own cleanup is off for
 * detached children. One listener for all, so a daemon with many servers trips no listener limit.
 */
const running = new Set<number>();
let exitHooked = false;

function track(pgid: number): void {
  if (!exitHooked) process.on('exit', endRunning);
  exitHooked = true;
  running.add(pgid);
}

function endRunning(): void {
  for (const pgid of running) signalGroup(pgid, 'SIGTERM');
}

class GroupChild implements ServerProcess {
  readonly pid: number;
  readonly stdin: Writable | undefined;
  readonly stdout: Readable | undefined;
  readonly stderr: Readable;
  readonly unmaskable: readonly string[];
  readonly exited: Promise<ExitInfo>;
  #exitInfo: ExitInfo | undefined;
  readonly #options: ChildOptions;
  #stopping: Promise<ExitInfo> | undefined;

  constructor(subprocess: ResultPromise, masker: Masker, options: ChildOptions) {
    this.pid = subprocess.pid!;
    this.#options = options;
    this.stdin = subprocess.stdin ?? undefined;
    this.stdout = subprocess.stdout ?? undefined;
    // A server that exits while we write to it is not an error of ours: its exit says why.
    this.stdin?.on('error', () => {});
    this.unmaskable = masker.unmaskable;
    const rawStderr = subprocess.stderr!;
    const masked = createMaskingLineStream(masker);
    rawStderr.pipe(masked);
    // A read error on the pipe (EIO) loses the rest of the log, not the server: end the stream there.
    rawStderr.on('error', () => masked.end());
    this.stderr = masked;
    track(this.pid);
    this.exited = new Promise<ExitInfo>((resolve) => {
      subprocess.once('exit', (code: number | null, signal: NodeJS.Signals | null) => {
        this.#exitInfo = { code, signal, exitCode: shellExitCode(code, signal) };
        // reapGroup only throws on a kill(2) error other than ESRCH/EPERM; the exit still counts.
        void reapGroup(this.pid, options.reapGraceMs ?? 1000).catch(() => false).then(() => {
          running.delete(this.pid);
          closeWithin(rawStderr, masked, options.stderrCloseMs ?? 1000);
          resolve(this.#exitInfo!);
        });
      });
    });
  }

  get exitInfo(): ExitInfo | undefined {
    return this.#exitInfo;
  }

  signal(signal: NodeJS.Signals): void {
    signalGroup(this.pid, signal);
  }

  stop(options: StopOptions = {}): Promise<ExitInfo> {
    this.#stopping ??= this.#stop({ ...this.#options.stop, ...options });
    return this.#stopping;
  }

  async #stop({ stdinGraceMs = 2000, termGraceMs = 3000 }: StopOptions): Promise<ExitInfo> {
    if (this.exitInfo === undefined && this.stdin) {
      this.stdin.end();
      await within(this.exited, stdinGraceMs);
    }
    if (this.exitInfo === undefined) {
      this.signal('SIGTERM');
      await within(this.exited, termGraceMs);
    }
    if (this.exitInfo === undefined) this.signal('SIGKILL');
    return this.exited;
  }
}

/** stderr ends at EOF; a process that left the group can hold it open, so it is cut after `ms`. */
function closeWithin(raw: Readable, masked: Writable, ms: number): void {
  if (raw.readableEnded || raw.destroyed) return;
  const timer = setTimeout(() => {
    raw.unpipe(masked);
    raw.destroy();
    if (!masked.writableEnded) masked.end();
  }, ms);
  timer.unref();
  raw.once('close', () => clearTimeout(timer));
}

/** Resolves with the promise's value, or undefined after `ms`; the timer never outlives it. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => { timer = setTimeout(resolve, ms, undefined); });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// A missing cwd makes spawn() fail with the same ENOENT as a missing command: tell them apart first.
async function checkCwd(spec: LaunchSpec): Promise<void> {
  if (spec.cwd === undefined) return;
  const info = await stat(spec.cwd).catch(() => undefined);
  if (info?.isDirectory()) return;
  const problem = info ? 'is not a directory' : 'does not exist';
  throw new McpdError('SPAWN_FAILED', `${subject(spec)}: the cwd ${spec.cwd} ${problem}`, {
    hint: 'create the directory, or correct "cwd" in the server\'s config',
  });
}

async function spawnFailed(spec: LaunchSpec, error: unknown): Promise<McpdError> {
  await checkCwd(spec); // it may have gone between the check and the spawn
  const code = (error as NodeJS.ErrnoException).code;
  const cwd = resolvePath(spec.cwd ?? '.');
  if (code === 'ENOENT') {
    return new McpdError('SPAWN_FAILED', `${subject(spec)}: no such command (looked up in the server's PATH, from ${cwd})`, {
      hint: `install it, or give "command" as a full path; it is run without a shell`,
      cause: error,
    });
  }
  if (code === 'EACCES') {
    return new McpdError('SPAWN_FAILED', `${subject(spec)}: permission denied, it is not an executable file (from ${cwd})`, {
      hint: `make it executable (chmod +x), or start it through its interpreter, e.g. "command": "node", "args": ["${spec.command}"]`,
      cause: error,
    });
  }
  const why = code ?? (error instanceof Error ? error.message : String(error));
  return new McpdError('SPAWN_FAILED', `${subject(spec)}: ${why} (from ${cwd})`, {
    hint: 'check "command", "args" and "cwd" in the server\'s config',
    cause: error,
  });
}

function subject(spec: LaunchSpec): string {
  return `${spec.name ? `server "${spec.name}": ` : ''}cannot start ${spec.command}`;
}
