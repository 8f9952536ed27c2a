/**
 * A stand-in for a server process, for the supervisor's and the session's state-machine tests:
 * streams in memory, an exit the test triggers. The launcher's own tests use real processes.
 */
import { PassThrough } from 'node:stream';
import type { ChildOptions, ExitInfo, LaunchSpec, ServerProcess, StartChild } from '../../daemon/launcher/child.js';
import type { KeepLeases } from '../../daemon/supervisor/instance.js';
import type { HeldLease } from '../../daemon/supervisor/leases.js';

export class FakeProcess implements ServerProcess {
  static #nextPid = 1000;
  readonly pid = FakeProcess.#nextPid++;
  readonly stdin = new PassThrough();
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  readonly unmaskable: string[] = [];
  readonly exited: Promise<ExitInfo>;
  exitInfo: ExitInfo | undefined;
  /** Set by the first stop() call. */
  stopped = false;
  /** How many times stop() was called. */
  stopCalls = 0;
  /** When true, stop() waits for the test's crash() instead of exiting at once (a slow shutdown). */
  holdStop = false;
  /** Lines the server has read from its stdin. */
  readonly received: string[] = [];
  #exit!: (info: ExitInfo) => void;
  #readers: Array<{ count: number; resolve: (lines: string[]) => void }> = [];

  constructor(readonly spec: LaunchSpec, readonly options?: ChildOptions) {
    this.exited = new Promise((resolve) => { this.#exit = resolve; });
    let partial = '';
    this.stdin.setEncoding('utf8').on('data', (text: string) => {
      const lines = (partial + text).split('\n');
      partial = lines.pop()!;
      this.received.push(...lines);
      for (const reader of this.#readers.filter((r) => this.received.length >= r.count)) {
        this.#readers.splice(this.#readers.indexOf(reader), 1);
        reader.resolve(this.received);
      }
    });
  }

  /** Resolves with every line read so far, once the server has read at least `count`. */
  receivedAtLeast(count: number): Promise<string[]> {
    if (this.received.length >= count) return Promise.resolve(this.received);
    return new Promise((resolve) => this.#readers.push({ count, resolve }));
  }

  /** The server writes one JSON-RPC message. */
  say(message: object): void {
    this.stdout.write(`${JSON.stringify(message)}\n`);
  }

  /** The server exits on its own (or, with holdStop, finally ends its shutdown). A second exit is ignored. */
  crash(code = 1): void {
    if (this.exitInfo) return;
    this.exitInfo = { code, signal: null, exitCode: code };
    this.#exit(this.exitInfo);
  }

  signal(): void {}

  async stop(): Promise<ExitInfo> {
    this.stopped = true;
    this.stopCalls += 1;
    if (!this.holdStop) this.crash(0);
    return this.exited;
  }
}

type FakeStarter = StartChild & {
  /** Every process started, oldest first. */
  started: FakeProcess[];
  /** When set, the next start rejects with it (and it is cleared). */
  fail: Error | undefined;
  /** Called with each new process before start resolves, e.g. to set holdStop. */
  onStart: ((child: FakeProcess) => void) | undefined;
  /** Resolves with the next process started. */
  next(): Promise<FakeProcess>;
};

/** A StartChild that records every process it starts; `fail` makes the next start reject. */
export function fakeStarter(): FakeStarter {
  const start = async (spec: LaunchSpec, options: ChildOptions) => {
    if (start.fail) {
      const error = start.fail;
      start.fail = undefined;
      throw error;
    }
    const child = new FakeProcess(spec, options);
    start.started.push(child);
    start.onStart?.(child);
    for (const waiter of waiters.splice(0)) waiter(child);
    return child;
  };
  const waiters: Array<(child: FakeProcess) => void> = [];
  start.started = [] as FakeProcess[];
  start.fail = undefined as Error | undefined;
  start.onStart = undefined as ((child: FakeProcess) => void) | undefined;
  start.next = () => new Promise<FakeProcess>((resolve) => waiters.push(resolve));
  return start;
}

/**
 * A KeepLeases for state-machine tests: records each process's leases, when they are revoked,
 * and lets the test report one ending (`end`). LeaseKeeper itself is tested against the Vault double.
 */
export function leaseRecorder() {
  const kept: Array<{ leases: readonly HeldLease[]; revoked: number; end: (why: string) => void }> = [];
  const keep: KeepLeases = (leases, ending) => {
    const entry = {
      leases,
      revoked: 0,
      end: (why: string) => ending(leases[0]?.ref ?? '${vault:x}', Date.parse('2030-01-01T00:00:00Z'), why),
    };
    kept.push(entry);
    return {
      status: () => [],
      revokeAll: async () => {
        entry.revoked += 1;
      },
    };
  };
  return { keep, kept };
}
