/**
 * `node dist/bench/daemon-shares.js`: where the daemon path's time goes, split three ways.
 *
 * 1. Imports: fresh `node --input-type=module` processes import what `mcpd run NAME` loads
 *    before it connects; performance.now() at that point (ms since the process started).
 * 2. Timeline: `mcpd run mini` with bench/probe-preload stamping Node's boot, the socket
 *    connects and the daemon's 101, against the spawn and the initialize result seen here.
 * 3. The daemon without `mcpd run`: this process opens the WebSocket session itself (as a host
 *    using the socket directly would), and again through mcpd/client (the transport a host app
 *    embeds), interleaved with `mini` direct and through `mcpd run`; the differences split the
 *    per-message cost between the daemon's hop, the host's transport and the CLI's.
 *
 *   node dist/bench/daemon-shares.js [--runs 10] [--fresh 21] [--pings 200] [--warmup 20] [--burst 2000] [--bulk-mib 10] [--bulk-calls 5] [--per-message]
 *
 * `--per-message` runs part 3 only (what the relay work measures), with the load average around it.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WebSocket } from 'ws';
import { benchFlags } from './flags.js';
import { BenchDaemon, cli } from './daemon.js';
import { viaClient } from './in-process.js';
import { type BulkSample, type Sample, bulkCalls, nodeFloor, pings, sessionOn } from './measure.js';
import { Calls, INIT_PARAMS, type Reply, type Variant, root, session, start, stop } from './rpc.js';
import { type BenchEnv, miniVariants, prepareHome } from './setup.js';
import { count, f, median, msSince, quantile, signed } from './stats.js';

const { values: flags, runs: RUNS, latency: LATENCY, bulk: BULK } = benchFlags({
  fresh: { type: 'string', default: '21' },
  'per-message': { type: 'boolean', default: false },
});
const FRESH = count(flags.fresh, '--fresh', 1);
const preload = fileURLToPath(new URL('./probe-preload.js', import.meta.url));
const dist = (path: string) => pathToFileURL(fileURLToPath(new URL(`../${path}`, import.meta.url))).href;

/** A session opened by this process on the daemon's socket: one JSON-RPC message per text message. */
class WsCalls extends Calls {
  constructor(readonly ws: WebSocket) {
    super();
    ws.on('message', (data: Buffer, isBinary) => {
      const at = process.hrtime.bigint();
      if (!isBinary) this.onMessage(data.toString(), at);
    });
    ws.on('close', () => this.failAll(new Error('the daemon closed the session')));
  }

  protected write(messages: string[]): void {
    for (const message of messages) this.ws.send(message);
  }
}

async function overWebSocket<T>(env: BenchEnv, name: string, body: (rpc: WsCalls, initMs: number) => Promise<T>): Promise<{ openMs: number; result: T }> {
  const t0 = process.hrtime.bigint();
  const ws = new WebSocket(`ws+unix://${env.MCPD_SOCKET}:/v1/session/${name}`, { perMessageDeflate: false, headers: { 'user-agent': 'mcpd-bench' } });
  await once(ws, 'open');
  const openMs = msSince(t0);
  const rpc = new WsCalls(ws);
  try {
    const init = await rpc.call('initialize', INIT_PARAMS);
    rpc.notify('notifications/initialized');
    return { openMs, result: await body(rpc, msSince(t0, init.at)) };
  } finally {
    ws.close();
    await once(ws, 'close');
  }
}

/** ms from the process's start to user code, having imported `specifiers` (median of FRESH processes). */
async function importCost(specifiers: string[], env: BenchEnv): Promise<number> {
  const code = `${specifiers.map((s) => `await import(${JSON.stringify(s)});`).join(' ')} process.stdout.write(String(performance.now()));`;
  const times: number[] = [];
  for (let i = 0; i < FRESH; i++) {
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { out += chunk; });
    await once(child, 'close');
    times.push(Number(out));
  }
  return median(times);
}

/** One `mcpd run mini` with the preload: each mark in ms since spawn. */
async function timeline(env: BenchEnv): Promise<Record<string, number>> {
  const variant: Variant = { name: 'mcpd run mini (probed)', command: process.execPath, args: ['--import', preload, cli, 'run', 'mini'] };
  const { rpc, t0 } = start(variant, env);
  let stderr = '';
  rpc.child.stderr.on('data', (chunk: string) => { stderr += chunk; });
  const ended = once(rpc.child.stderr, 'end');
  let init: Reply;
  try {
    init = await rpc.call('initialize', INIT_PARAMS);
  } finally {
    await stop(rpc);
  }
  await ended;
  const line = /mcpd-bench-marks (.*)/.exec(stderr)?.[1];
  if (!line) throw new Error(`no marks from the preload:\n${stderr}`);
  const marks = JSON.parse(line) as Array<[string, string]>;
  const at = (kind: string, nth = 0) => msSince(t0, BigInt(marks.filter(([k]) => k === kind)[nth]?.[1] ?? NaN));
  // One connect: the CLI probes for a daemon only when its socket refuses (connect/daemon.ts).
  const connects = marks.filter(([k]) => k === 'connect').length;
  if (connects !== 1) throw new Error(`expected one connect from mcpd run against a running daemon, saw ${connects}`);
  return { booted: at('booted'), upgrade: at('connect'), answered: at('data'), init: msSince(t0, init.at) };
}

/** Parts 1 and 2: import costs in fresh processes, and the timeline of one `mcpd run mini`. */
async function startUp(env: BenchEnv): Promise<string[]> {
  const out: string[] = [];
  const sets: Array<[string, string[]]> = [
    ['nothing (Node boot to user code)', []],
    ['commander', ['commander']],
    ['ws', ['ws']],
    ['commander + ws', ['commander', 'ws']],
    ['the run-daemon bundle `mcpd run NAME` loads (here without its code cache)', [dist('cli/run-daemon.cjs')]],
  ];
  const floor: number[] = [];
  for (let i = 0; i < FRESH; i++) floor.push(await nodeFloor(env));
  out.push(`1. imports, fresh processes (median of ${FRESH}); node -e 0 spawn→exit: ${f(median(floor), 1)} ms`, '', '| imported | ms at user code | over nothing |', '| --- | ---: | ---: |');
  let base = NaN;
  for (const [label, specifiers] of sets) {
    const ms = await importCost(specifiers, env);
    if (specifiers.length === 0) base = ms;
    out.push(`| ${label} | ${f(ms, 1)} | ${specifiers.length ? signed(ms - base, 1) : ''} |`);
  }

  // 2. Timeline of `mcpd run mini`, interleaved with mini started directly.
  const [direct] = miniVariants({ direct: 'direct', noDaemon: '', daemon: '' });
  const marks: Array<Record<string, number>> = [];
  const directInit: number[] = [];
  for (let i = 0; i <= FRESH; i++) {
    const mark = await timeline(env);
    const init = await session(direct!, env, (_rpc, initMs) => Promise.resolve(initMs));
    if (i > 0) { marks.push(mark); directInit.push(init); }
  }
  const m = (key: string) => median(marks.map((x) => x[key]!));
  out.push('', `2. \`mcpd run mini\` against the running daemon, ms since spawn (median of ${FRESH}; the preload adds ~1 ms)`, '',
    '| mark | ms since spawn | step ms | what |', '| --- | ---: | ---: | --- |',
    `| Node booted (preload runs) | ${f(m('booted'), 1)} | ${f(m('booted'), 1)} | exec, Node's own start-up |`,
    `| WebSocket upgrade sent | ${f(m('upgrade'), 1)} | ${f(m('upgrade') - m('booted'), 1)} | bin.js, argv read, the run-daemon bundle (ws) loaded from its code cache |`,
    `| daemon's 101 arrives | ${f(m('answered'), 1)} | ${f(m('answered') - m('upgrade'), 1)} | the connect completes and the request is written; the daemon routes it, resolves and spawns mini (its fork ~3 ms), answers 101 |`,
    `| initialize result | ${f(m('init'), 1)} | ${f(m('init') - m('answered'), 1)} | mini boots and answers, relayed both ways |`,
    `| (direct mini: initialize result) | ${f(median(directInit), 1)} | | |`);

  return out;
}

async function main(): Promise<void> {
  const { home, env } = await prepareHome();
  let daemon: BenchDaemon | undefined;
  const out: string[] = [];
  try {
    daemon = await BenchDaemon.start(env);
    if (!flags['per-message']) out.push(...await startUp(env));
    const [direct, , viaCli] = miniVariants({ direct: 'direct', noDaemon: '', daemon: 'mcpd run (daemon)' });
    const loadBefore = loadavg()[0] ?? NaN;
    // 3. Per message: direct, the daemon over this process's own WebSocket, the daemon through mcpd run.
    // mcpd/client is the raw WebSocket's path plus what a host app's transport adds (client/index.ts).
    const client = viaClient('mcpd/client (in process)', 'mini', env.MCPD_SOCKET);
    const rows = new Map<string, { open: number[]; latency: Sample[]; bulk: BulkSample[] }>(
      ['direct', 'daemon, WebSocket in this process', client.name, 'mcpd run (daemon)'].map((name) => [name, { open: [], latency: [], bulk: [] }]));
    for (let round = 0; round <= RUNS; round++) {
      const keep = <T>(name: string, key: 'latency' | 'bulk', value: T) => { if (round > 0) (rows.get(name)![key] as T[]).push(value); };
      keep('direct', 'latency', await session(direct!, env, (rpc, initMs) => pings(rpc, initMs, LATENCY)));
      keep('direct', 'bulk', await session(direct!, env, (rpc, initMs) => bulkCalls(rpc, initMs, BULK)));
      const ws = await overWebSocket(env, 'mini', (rpc, initMs) => pings(rpc, initMs, LATENCY));
      keep('daemon, WebSocket in this process', 'latency', ws.result);
      if (round > 0) rows.get('daemon, WebSocket in this process')!.open.push(ws.openMs);
      keep('daemon, WebSocket in this process', 'bulk', (await overWebSocket(env, 'mini', (rpc, initMs) => bulkCalls(rpc, initMs, BULK))).result);
      keep(client.name, 'latency', await sessionOn(client, env, (rpc, initMs) => pings(rpc, initMs, LATENCY)));
      keep(client.name, 'bulk', await sessionOn(client, env, (rpc, initMs) => bulkCalls(rpc, initMs, BULK)));
      keep('mcpd run (daemon)', 'latency', await session(viaCli!, env, (rpc, initMs) => pings(rpc, initMs, LATENCY)));
      keep('mcpd run (daemon)', 'bulk', await session(viaCli!, env, (rpc, initMs) => bulkCalls(rpc, initMs, BULK)));
      process.stderr.write(`round ${round}/${RUNS} done\n`);
    }
    const p50 = (r: { latency: Sample[] }) => median(r.latency.map((s) => quantile(s.pingsUs, 0.5)));
    const rate = (r: { latency: Sample[] }) => median(r.latency.map((s) => s.pingsPerSec));
    const mib = (r: { bulk: BulkSample[] }) => median(r.bulk.map((s) => s.mibPerSec));
    const base = rows.get('direct')!;
    out.push('', `3. server mini, ${RUNS} runs interleaved; ping p50: each run's, median across runs; MiB/s: ${BULK.bytes / 2 ** 20} MiB tool results`,
      `load average (1 min) ${f(loadBefore, 2)} before, ${f(loadavg()[0] ?? NaN, 2)} after`, '',
      '| path | connect→101 ms | init ms | ping p50 µs | p50 vs direct µs | ping p99 µs | pipelined pings/s | ×direct | bulk MiB/s | ×direct |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const [name, r] of rows) {
      const vs = r === base ? ['', '', ''] : [signed(p50(r) - p50(base), 0), f(rate(r) / rate(base), 2), f(mib(r) / mib(base), 2)];
      out.push(`| ${name} | ${r.open.length ? f(median(r.open), 1) : ''} | ${f(median(r.latency.map((s) => s.initMs)), 1)} | ${f(p50(r), 0)} | ${vs[0]} | ${f(median(r.latency.map((s) => quantile(s.pingsUs, 0.99))), 0)} | ${f(rate(r), 0)} | ${vs[1]} | ${f(mib(r), 0)} | ${vs[2]} |`);
    }
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    await daemon?.stop();
    await rm(home, { recursive: true, force: true });
  }
}

await main();
