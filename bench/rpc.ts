/**
 * The benchmark's client: a raw newline-delimited JSON-RPC reader over a child's stdio, not the
 * SDK's Client, whose own overhead would blur the figures. Each response is stamped on arrival
 * of the chunk that completes it.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));

export interface Variant { name: string; command: string; args: string[] }
/** A response: when its last byte arrived, and how long its line was (characters; ASCII here). */
export interface Reply { at: bigint; chars: number }
type Child = ChildProcessByStdio<Writable, Readable, Readable>;
/** What the client reads of an answer. */
type Answer = { id?: unknown; error?: { message?: string } };

/** Lines longer than this are not parsed: their id is read from their head or tail (see idOfLong). */
const PARSE_LIMIT = 64 * 1024;

/** Requests by id, and their replies as they arrive; the transport is the subclass's. */
export abstract class Calls {
  private nextId = 1;
  private readonly waiters = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>();
  /** Chunks of the line not yet complete (onText). */
  private parts: string[] = [];

  /** Writes these messages, each a JSON-RPC message without its newline, in one go. */
  protected abstract write(messages: string[]): void;

  /** Writes the requests in one write (a pipelined burst when there are many); resolves with their replies. */
  send(method: string, count = 1, params?: object): Promise<Reply>[] {
    const messages: string[] = [];
    const replies: Promise<Reply>[] = [];
    for (let i = 0; i < count; i++) {
      const id = this.nextId++;
      messages.push(JSON.stringify({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) }));
      replies.push(new Promise((resolve, reject) => this.waiters.set(id, { resolve, reject })));
    }
    this.write(messages);
    return replies;
  }

  /** One request; resolves with its reply. */
  call(method: string, params?: object): Promise<Reply> {
    return this.send(method, 1, params)[0]!;
  }

  notify(method: string): void {
    this.write([JSON.stringify({ jsonrpc: '2.0', method })]);
  }

  /** Rejects every pending request. */
  failAll(error: Error): void {
    for (const waiter of this.waiters.values()) waiter.reject(error);
    this.waiters.clear();
  }

  /** Called with each message's text as it is read, when set (outside the timings: checks what a server said). */
  tap?: (text: string) => void;

  protected onMessage(line: string, at: bigint): void {
    this.tap?.(line);
    let message: Answer;
    if (line.length > PARSE_LIMIT) message = idOfLong(line);
    else try { message = JSON.parse(line) as Answer; } catch { return; }
    this.settle(message, at, line.length);
  }

  /** Resolves (or rejects) the request `message` answers; `chars` is the answer's length. */
  protected settle(message: Answer, at: bigint, chars: number): void {
    const waiter = typeof message.id === 'number' ? this.waiters.get(message.id) : undefined;
    if (!waiter) return; // server notifications and requests are not what we time
    this.waiters.delete(message.id as number);
    if (message.error) waiter.reject(new Error(`JSON-RPC error: ${message.error.message ?? '?'}`));
    else waiter.resolve({ at, chars });
  }

  /** Newline-delimited text as it arrives: each complete line is a message. */
  protected onText(chunk: string): void {
    const at = process.hrtime.bigint();
    // Only the new chunk is searched for a newline: a 10 MiB line arrives in ~160 chunks, and
    // rescanning what came before at each one would make the client, not the path, the bottleneck.
    let start = 0;
    for (let nl = chunk.indexOf('\n'); nl !== -1; nl = chunk.indexOf('\n', start)) {
      const tail = chunk.slice(start, nl);
      const line = this.parts.length ? this.parts.join('') + tail : tail;
      this.parts = [];
      start = nl + 1;
      this.onMessage(line, at);
    }
    if (start < chunk.length) this.parts.push(chunk.slice(start));
  }
}

/** Newline-delimited JSON-RPC over a child's stdio. */
export class Rpc extends Calls {
  private stderr = '';
  readonly exited: Promise<void>;

  constructor(readonly child: Child, label: string) {
    super();
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => this.onText(chunk));
    // Drained so a chatty server never blocks on a full pipe; kept for the error message.
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => { this.stderr = (this.stderr + chunk).slice(-2000); });
    child.stdin.on('error', () => undefined);
    this.exited = new Promise((resolve) => {
      const fail = (why: string) => {
        this.failAll(new Error(`${label} ${why} before answering\n${this.stderr}`));
        resolve();
      };
      child.once('exit', (code) => fail(`exited (${String(code)})`));
      child.once('error', (error) => fail(`failed to start (${error.message})`));
    });
  }

  protected write(messages: string[]): void {
    this.child.stdin.write(`${messages.join('\n')}\n`);
  }

}

/**
 * A bulk response is not parsed: a host would, but then the figure would be V8's JSON parser,
 * the same in every variant, diluting what the path costs. Servers write `"id"` near one end.
 */
function idOfLong(line: string): Answer {
  const ends = `${line.slice(0, 256)} ${line.slice(-256)}`;
  const id = /"id":(\d+)[,}]/.exec(ends)?.[1];
  const error = /^\{[^{]*"error":\{/.test(line.slice(0, 256));
  return { id: id === undefined ? undefined : Number(id), ...(error ? { error: { message: 'long error response' } } : {}) };
}

export const INIT_PARAMS = { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'mcpd-bench', version: '1' } };

export function start(variant: Variant, env: Record<string, string>): { rpc: Rpc; t0: bigint } {
  const t0 = process.hrtime.bigint();
  // detached: its own process group, so a lingering npx grandchild can be killed with it.
  const child = spawn(variant.command, variant.args, { cwd: root, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  return { rpc: new Rpc(child, variant.name), t0 };
}

/** Closes stdin and waits for the exit (5 s at most), then kills whatever is left in the group. */
export async function stop(rpc: Rpc): Promise<void> {
  rpc.child.stdin.end();
  const timer = setTimeout(() => killGroup(rpc.child.pid), 5000);
  await rpc.exited;
  clearTimeout(timer);
  killGroup(rpc.child.pid); // anything the leader left behind in its group
}

export function killGroup(pid: number | undefined): void {
  try { if (pid) process.kill(-pid, 'SIGKILL'); } catch { /* already gone */ }
}

/** Starts, initializes, and runs `body`; a process that neither answers nor exits is killed after `watchdogMs`. */
export async function session<T>(variant: Variant, env: Record<string, string>, body: (rpc: Rpc, initMs: number) => Promise<T>, watchdogMs = 60_000): Promise<T> {
  const { rpc, t0 } = start(variant, env);
  // Killed, it rejects what is pending.
  const watchdog = setTimeout(() => killGroup(rpc.child.pid), watchdogMs);
  try {
    const init = await rpc.call('initialize', INIT_PARAMS);
    const initMs = Number(init.at - t0) / 1e6;
    rpc.notify('notifications/initialized');
    return await body(rpc, initMs);
  } finally {
    clearTimeout(watchdog);
    await stop(rpc);
  }
}
