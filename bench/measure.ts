/** What one run of one variant measures. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { type InProcess, inProcessSession } from './in-process.js';
import { type Calls, type Variant, root, session } from './rpc.js';
import { median, msSince } from './stats.js';

export interface Sample { initMs: number; pingsUs: number[]; pingsPerSec: number }
export interface BulkSample { initMs: number; mibPerSec: number }

export interface LatencyPlan { warmup: number; pings: number; burst: number }
export interface BulkPlan { bytes: number; calls: number }

/** A path a session can take: a command the bench spawns and talks to over stdio, or a client in the bench's own process. */
export type Path = Variant | InProcess;

/** One session on `path`: opened, initialized, `body` run on it, closed. */
export function sessionOn<T>(path: Path, env: Record<string, string>, body: (rpc: Calls, initMs: number) => Promise<T>): Promise<T> {
  return 'open' in path ? inProcessSession(path, body) : session(path, env, body);
}

/** spawn → initialize result; sequential pings after a warm-up; one pipelined burst. */
export function measure(path: Path, env: Record<string, string>, plan: LatencyPlan): Promise<Sample> {
  return sessionOn(path, env, (rpc, initMs) => pings(rpc, initMs, plan));
}

/** Sequential pings after a warm-up (request written → response read), then one pipelined burst. */
export async function pings(rpc: Calls, initMs: number, plan: LatencyPlan): Promise<Sample> {
  const pingsUs: number[] = [];
  for (let i = 0; i < plan.warmup + plan.pings; i++) {
    const sent = process.hrtime.bigint();
    const reply = await rpc.call('ping');
    if (i >= plan.warmup) pingsUs.push(Number(reply.at - sent) / 1e3);
  }
  const burstStart = process.hrtime.bigint();
  const replies = await Promise.all(rpc.send('ping', plan.burst));
  const last = replies.reduce((a, b) => (a.at > b.at ? a : b)).at;
  return { initMs, pingsUs, pingsPerSec: plan.burst / (msSince(burstStart, last) / 1e3) };
}

/** The `big` tool through `variant`, after spawn → initialize (see bulkCalls). */
export function measureBulk(path: Path, env: Record<string, string>, plan: BulkPlan): Promise<BulkSample> {
  return sessionOn(path, env, (rpc, initMs) => bulkCalls(rpc, initMs, plan));
}

/**
 * One untimed call of the `big` tool, then `calls` timed ones, one at a time: request written →
 * last byte of the response read. MiB/s counts the response line (the text plus ~100 bytes of JSON).
 */
export async function bulkCalls(rpc: Calls, initMs: number, plan: BulkPlan): Promise<BulkSample> {
  const rates: number[] = [];
  for (let i = 0; i <= plan.calls; i++) {
    const sent = process.hrtime.bigint();
    const reply = await rpc.call('tools/call', { name: 'big', arguments: { bytes: plan.bytes } });
    if (reply.chars < plan.bytes) throw new Error(`big returned ${reply.chars} characters, asked for ${plan.bytes}`);
    if (i > 0) rates.push(reply.chars / 2 ** 20 / (msSince(sent, reply.at) / 1e3));
  }
  return { initMs, mibPerSec: median(rates) };
}

/** spawn → exit of a command that is expected to end on its own; its exit code and stderr come back too. */
export async function timeToExit(command: string, args: string[], env: Record<string, string>): Promise<{ ms: number; code: number | null; stderr: string }> {
  const t0 = process.hrtime.bigint();
  const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  const [code] = await once(child, 'exit') as [number | null];
  return { ms: msSince(t0), code, stderr };
}

/** Node's own start-up, spawn to exit: the floor every Node CLI pays. */
export async function nodeFloor(env: Record<string, string>): Promise<number> {
  return (await timeToExit(process.execPath, ['-e', '0'], env)).ms;
}

/** Outside the timings: mcpd really injected the stored secret (get-env is server-everything's tool). */
export async function checkInjection(path: Path, env: Record<string, string>, token: string): Promise<void> {
  await sessionOn(path, env, async (rpc) => {
    let text = '';
    rpc.tap = (line) => { text += line; };
    await rpc.call('tools/call', { name: 'get-env', arguments: {} });
    if (!text.includes(token)) throw new Error(`${path.name}: BENCH_TOKEN did not reach the server`);
  });
}
