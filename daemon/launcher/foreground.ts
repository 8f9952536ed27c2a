/**
 * `mcpd run --no-daemon`: the server's stdin and stdout are ours, handed over so mcpd is not in
 * the JSON-RPC path at all; stderr passes through masked, line by line. Signals sent to mcpd
 * reach the server's process group, and mcpd exits with the server's code.
 */
import type { Writable } from 'node:stream';
import { type ChildSpec, type Spawn, startChild } from './child.js';

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export interface ForegroundIo {
  readonly stderr: Writable;
  readonly stdin?: NodeJS.ReadStream;
  readonly spawn?: Spawn;
}

/** Runs the server to completion; resolves with the exit code mcpd should exit with. */
export async function runForeground(spec: ChildSpec, io: ForegroundIo): Promise<number> {
  const stdin = io.stdin ?? process.stdin;
  // A server in its own process group that reads a terminal is stopped by SIGTTIN, so on a
  // terminal stdin is piped through; otherwise it is handed over untouched.
  const pipeStdin = stdin.isTTY === true;
  const child = await startChild(spec, { stdin: pipeStdin ? 'pipe' : 'inherit', stdout: 'inherit', stderr: io.stderr }, io.spawn);
  if (pipeStdin && child.stdin) stdin.pipe(child.stdin);
  for (const variable of child.unmaskable) {
    io.stderr.write(`mcpd: warning: the value of ${variable} is under 6 characters and is not masked in the server's stderr\n`);
  }

  let interrupts = 0;
  const forward = (signal: NodeJS.Signals) => {
    // A second Ctrl-C means "really stop": run the full shutdown sequence.
    if (signal === 'SIGINT' && ++interrupts > 1) void child.stop({ stdinGraceMs: 0 });
    else child.signal(signal);
  };
  for (const signal of FORWARDED) process.on(signal, forward);
  try {
    return (await child.exited).exitCode;
  } finally {
    for (const signal of FORWARDED) process.off(signal, forward);
    if (pipeStdin) stdin.unpipe();
  }
}
