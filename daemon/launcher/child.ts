/**
 * One server process: spawned without a shell in a process group of its own, its stderr
 * masked, and ended with MCP's stdio shutdown sequence (close stdin, wait, SIGTERM, wait,
 * SIGKILL) applied to the whole group, because `npx` and wrapper scripts leave grandchildren.
 *
 * This uses node:child_process rather than execa: the server is long-lived with its stdio
 * handed over, so execa's output capture and promise interface go unused, while its import
 * costs ~100 ms (measured, Node 20) on the path of every `mcpd run`. execa runs the
 * run-to-completion commands (the exec provider).
 */
import { spawn as nodeSpawn, type ChildProcess } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { McpdError } from '../../core/errors.js';
import { type InjectedValue, Masker, MaskingLineStream } from './masker.js';

export interface ChildSpec {
  readonly command: string;
  readonly args: readonly string[];
  /** The complete environment (see buildChildEnv); nothing else is inherited. */
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string | undefined;
  /** Values to mask in stderr. */
  readonly secrets: readonly InjectedValue[];
}

export interface ChildIo {
  /** 'inherit' hands our stdin/stdout to the server; 'pipe' exposes them as streams. */
  readonly stdin: 'inherit' | 'pipe';
  readonly stdout: 'inherit' | 'pipe';
  /** Where the masked stderr goes. */
  readonly stderr: Writable;
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The shell's convention: the code, or 128 + the signal's number. */
  readonly exitCode: number;
}

export interface StopOptions {
  /** How long after closing stdin before SIGTERM. */
  readonly stdinGraceMs?: number;
  /** How long after SIGTERM before SIGKILL. */
  readonly termGraceMs?: number;
}

export type Spawn = typeof nodeSpawn;

export class ServerChild {
  readonly pid: number;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  /** Resolves when the server has exited and the rest of its process group has been reaped. */
  readonly exited: Promise<ExitInfo>;
  readonly unmaskable: readonly string[];
  #exit: ExitInfo | undefined;

  constructor(child: ChildProcess, masker: Masker, stderr: Writable) {
    this.pid = child.pid!;
    this.stdin = child.stdin;
    this.stdout = child.stdout;
    this.unmaskable = masker.unmaskable;
    child.stderr!.pipe(new MaskingLineStream(masker)).pipe(stderr, { end: false });
    this.exited = new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => {
        this.#exit = { code, signal, exitCode: code ?? 128 + (signal ? constants.signals[signal] : 0) };
        void reapGroup(this.pid).then(() => resolve(this.#exit!));
      });
    });
  }

  get running(): boolean {
    return this.#exit === undefined;
  }

  /** Sends `signal` to the server's whole process group. */
  signal(signal: NodeJS.Signals): void {
    killGroup(this.pid, signal);
  }

  /** MCP's stdio shutdown: close stdin, wait, SIGTERM the group, wait, SIGKILL the group. */
  async stop(options: StopOptions = {}): Promise<ExitInfo> {
    const { stdinGraceMs = 2000, termGraceMs = 3000 } = options;
    if (this.running && this.stdin) {
      this.stdin.end();
      await within(this.exited, stdinGraceMs);
    }
    if (this.running) {
      this.signal('SIGTERM');
      await within(this.exited, termGraceMs);
    }
    if (this.running) this.signal('SIGKILL');
    return this.exited;
  }
}

/** Starts the server; rejects with SPAWN_FAILED when the command or cwd is not usable. */
export async function startChild(spec: ChildSpec, io: ChildIo, spawn: Spawn = nodeSpawn): Promise<ServerChild> {
  if (spec.cwd !== undefined) await checkCwd(spec.cwd, spec.command);
  const child = spawn(spec.command, [...spec.args], {
    env: spec.env,
    cwd: spec.cwd,
    shell: false,
    // Its own process group (and session), so the whole tree can be signalled and reaped.
    detached: true,
    stdio: [io.stdin, io.stdout, 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (error: NodeJS.ErrnoException) => reject(spawnFailed(spec, error)));
  });
  return new ServerChild(child, new Masker(spec.secrets), io.stderr);
}

async function checkCwd(cwd: string, command: string): Promise<void> {
  const info = await stat(cwd).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new McpdError('SPAWN_FAILED', `cannot start ${command}: its cwd ${cwd} is not a directory`, {
      hint: 'create the directory or correct "cwd" in the server\'s config',
    });
  }
}

function spawnFailed(spec: ChildSpec, error: NodeJS.ErrnoException): McpdError {
  const why = error.code === 'ENOENT' ? 'no such command (looked in the server\'s PATH)' : error.code === 'EACCES' ? 'it is not executable' : (error.code ?? error.message);
  return new McpdError('SPAWN_FAILED', `cannot start ${spec.command}: ${why}`, {
    hint: 'check "command" in the server\'s config; give an absolute path if it is not on PATH',
    cause: error,
  });
}

function killGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // ESRCH: the group is empty.
  }
}

/** After the leader exits, what is left of its group gets SIGTERM, then SIGKILL. */
async function reapGroup(pgid: number): Promise<void> {
  if (!killGroup(pgid, 'SIGTERM')) return;
  const deadline = Date.now() + 1000;
  while (Date.now() < deadline) {
    await sleep(20);
    if (!killGroup(pgid, 0)) return;
  }
  killGroup(pgid, 'SIGKILL');
}

function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), ms); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
