/**
 * A stand-in for a server process, for the supervisor's and the session's state-machine tests:
 * streams in memory, an exit the test triggers. The launcher's own tests use real processes.
 */
import { PassThrough } from 'node:stream';
import type { ExitInfo, LaunchSpec, ServerProcess, StartChild } from '../../daemon/launcher/child.js';

export class FakeProcess implements ServerProcess {
  static #nextPid = 1000;
  readonly pid = FakeProcess.#nextPid++;
  readonly stdin = new PassThrough();
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  readonly unmaskable: string[] = [];
  readonly exited: Promise<ExitInfo>;
  exitInfo: ExitInfo | undefined;
  stopped = false;
  /** Lines the server has read from its stdin. */
  readonly received: string[] = [];
  #exit!: (info: ExitInfo) => void;

  constructor(readonly spec: LaunchSpec) {
    this.exited = new Promise((resolve) => { this.#exit = resolve; });
    let partial = '';
    this.stdin.setEncoding('utf8').on('data', (text: string) => {
      const lines = (partial + text).split('\n');
      partial = lines.pop()!;
      this.received.push(...lines);
    });
  }

  /** The server writes one JSON-RPC message. */
  say(message: object): void {
    this.stdout.write(`${JSON.stringify(message)}\n`);
  }

  /** The server exits on its own. */
  crash(code = 1): void {
    this.exitInfo = { code, signal: null, exitCode: code };
    this.#exit(this.exitInfo);
  }

  signal(): void {}

  async stop(): Promise<ExitInfo> {
    this.stopped = true;
    if (!this.exitInfo) this.crash(0);
    return this.exited;
  }
}

/** A StartChild that records every process it starts; `fail` makes the next start reject. */
export function fakeStarter(): StartChild & { started: FakeProcess[]; fail: Error | undefined } {
  const start = async (spec: LaunchSpec) => {
    if (start.fail) {
      const error = start.fail;
      start.fail = undefined;
      throw error;
    }
    const child = new FakeProcess(spec);
    start.started.push(child);
    return child;
  };
  start.started = [] as FakeProcess[];
  start.fail = undefined as Error | undefined;
  return start;
}
