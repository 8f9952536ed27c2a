/**
 * `mcpd run --no-daemon`: the server's stdin and stdout are our own file descriptors, handed
 * over, so mcpd is not in the JSON-RPC path at all; its stderr passes through masked, line by
 * line. Signals sent to mcpd reach the server's process group, and mcpd exits with the
 * server's code.
 *
 * process.stdin is read only when it is a terminal: otherwise every byte belongs to the server.
 */
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { isatty } from 'node:tty';
import { type LaunchSpec, type ServerProcess, type StartChild, type StopOptions, startChild } from './child.js';
import { unmaskableWarning } from './masker.js';

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export interface ForegroundIo {
  /** Where the server's masked stderr and mcpd's warnings go. */
  readonly stderr: Writable;
  /** Whether our stdin is a terminal; default isatty(0). */
  readonly stdinIsTTY?: boolean;
  /** Read (and piped to the server) only when stdin is a terminal; default process.stdin. */
  readonly stdin?: Readable;
  /** Grace periods of the shutdown a second Ctrl-C starts. */
  readonly stop?: StopOptions;
  readonly reapGraceMs?: number;
  readonly start?: StartChild;
}

/** Runs the server to its end; resolves with the status mcpd should exit with (the server's, or 128 + signal). */
export async function runForeground(spec: LaunchSpec, io: ForegroundIo): Promise<number> {
  // The server runs in a session of its own (setsid), outside the terminal's job control: handed
  // the terminal, it would go on reading it after mcpd is suspended or sent to the background,
  // taking the shell's input. Relayed, mcpd is the reader, and job control stops mcpd instead.
  const relayStdin = io.stdinIsTTY ?? isatty(0);
  const signals = forwardSignals();
  try {
    const child = await (io.start ?? startChild)(spec, {
      stdin: relayStdin ? 'pipe' : 'inherit',
      stdout: 'inherit',
      stop: io.stop,
      reapGraceMs: io.reapGraceMs,
    });
    for (const variable of child.unmaskable) io.stderr.write(`mcpd: warning: ${unmaskableWarning(variable)}\n`);
    signals.attach(child);
    return await untilExit(child, io, relayStdin ? (io.stdin ?? process.stdin) : undefined);
  } finally {
    signals.detach();
  }
}

async function untilExit(child: ServerProcess, io: ForegroundIo, stdin: Readable | undefined): Promise<number> {
  if (stdin && child.stdin) stdin.pipe(child.stdin);
  try {
    const copied = copyStream(child.stderr, io.stderr);
    const { exitCode } = await child.exited;
    // The masked stream ends after the group is gone; its last lines must be out before we exit.
    await copied;
    return exitCode;
  } finally {
    stdin?.unpipe();
    stdin?.pause();
  }
}

/**
 * SIGINT, SIGTERM and SIGHUP go to the server's whole group. A second SIGINT (the user
 * pressing Ctrl-C again) runs the full shutdown; a third kills the group outright. A signal
 * that arrives before the server has started is delivered as soon as it has.
 */
function forwardSignals(): { attach(child: ServerProcess): void; detach(): void } {
  let child: ServerProcess | undefined;
  const pending: NodeJS.Signals[] = [];
  let interrupts = 0;
  const deliver = (to: ServerProcess, signal: NodeJS.Signals) => {
    if (signal === 'SIGINT') interrupts += 1;
    if (signal !== 'SIGINT' || interrupts === 1) to.signal(signal);
    else if (interrupts === 2) void to.stop();
    else to.signal('SIGKILL');
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (child) deliver(child, signal);
    else pending.push(signal);
  };
  for (const signal of FORWARDED) process.on(signal, onSignal);
  return {
    attach(started) {
      child = started;
      for (const signal of pending.splice(0)) deliver(started, signal);
    },
    detach() {
      for (const signal of FORWARDED) process.off(signal, onSignal);
    },
  };
}

/**
 * Copies the masked stderr to ours, honouring backpressure. If ours breaks (the host closed
 * it), the server's stderr is still drained: a server blocked on a full pipe never exits.
 */
async function copyStream(from: Readable, to: Writable): Promise<void> {
  let broken = false;
  const onError = () => { broken = true; };
  to.on('error', onError);
  try {
    for await (const chunk of from as AsyncIterable<Buffer>) {
      if (broken || to.destroyed) continue;
      if (!to.write(chunk)) await once(to, 'drain').catch(onError);
    }
    // Resolves once every earlier write has been handed to the OS.
    if (!broken && !to.destroyed) await new Promise<void>((resolve) => to.write('', () => resolve()));
  } finally {
    to.off('error', onError);
  }
}
