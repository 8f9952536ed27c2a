/**
 * A bounded fuzz run of the daemon's socket (issue 12): for about 30 s (and at most a fixed
 * number of attempts), random HTTP upgrade requests (methods, paths, headers, cut short) and
 * random WebSocket frames on opened control and session connections, as raw bytes on `net`
 * sockets. Meanwhile a host app's session (the SDK Client to the real server-everything) goes
 * on; afterwards it still answers, no fuzz session is left open, and the daemon's resident
 * memory is back near where it was. MCPD_FUZZ_SEED replays a run (the seed is printed);
 * MCPD_FUZZ_SECONDS makes it longer.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import fc from 'fast-check';
import { mcpdTransport } from '../../client/index.js';
import { startDaemon, waitFor } from '../helpers/daemon.js';
import { serverEnv } from '../helpers/mcp.js';
import { fixture } from '../helpers/repo.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';
import { residentKiB } from '../../daemon/supervisor/process-memory.js';

const everything = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');
const mini = { command: process.execPath, args: [fixture('mini-mcp.js')] };
const DURATION_MS = Number(process.env.MCPD_FUZZ_SECONDS ?? 30) * 1000;
const MAX_ATTEMPTS = Math.round(DURATION_MS / 5);
const WORKERS = 4;
const SEED = Number(process.env.MCPD_FUZZ_SEED ?? Date.now() % 2 ** 31);

/** One raw exchange: writes `bytes` (then, once answered with 101, each of `after`), and reads until the daemon closes or 0.5 s pass. */
function exchange(path: string, bytes: Buffer, after: Buffer[] = []): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(path);
    let answer = '';
    let upgraded = false;
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer.slice(0, 200));
    };
    const timer = setTimeout(done, 500); // a request cut short waits for the rest
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
      if (!upgraded && answer.startsWith('HTTP/1.1 101')) {
        upgraded = true;
        for (const frame of after) socket.write(frame);
        setTimeout(done, 200); // long enough for the daemon to read what was sent
      }
    });
    socket.on('error', done).on('close', done);
    socket.write(bytes);
  });
}

const token = fc.stringMatching(/^[\x21-\x7e]{0,40}$/);
const headerValue = fc.oneof(fc.constantFrom('websocket', 'Upgrade', '13', '8', 'dGhlIHNhbXBsZSBub25jZQ==', '', 'Bearer x', 'Bearer mcpd_0000'), token, fc.string({ maxLength: 300 }));
const pathArb = fc.oneof(
  fc.constantFrom('/v1/control', '/v1/session/mini', '/v1/session/ghost', '/v1/session/', '/v1/session/constructor', '/v1/session/__proto__', '/v1/session/%E0%A4%A', '/v1/session/mini?stderr=1&token=x', '/', '*', '//v1/control'),
  fc.string({ maxLength: 200 }).map((s) => `/v1/session/${s}`),
  fc.string({ maxLength: 2000 }),
);
const request = fc.record({
  method: fc.oneof(fc.constantFrom('GET', 'GET', 'GET', 'POST', 'PUT', 'OPTIONS', 'CONNECT', 'HEAD'), token),
  path: pathArb,
  version: fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2', 'XYZ'),
  upgrade: fc.boolean(),
  headers: fc.array(fc.tuple(fc.oneof(fc.constantFrom('upgrade', 'connection', 'sec-websocket-key', 'sec-websocket-version', 'authorization', 'host', 'origin', 'content-length', 'transfer-encoding'), token), headerValue), { maxLength: 8 }),
  cut: fc.option(fc.nat({ max: 400 }), { nil: undefined }),
  tail: fc.uint8Array({ maxLength: 64 }),
}).map((r) => {
  const base = r.upgrade ? ['Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='] : [];
  const text = [`${r.method} ${r.path} ${r.version}`, 'Host: localhost', ...base, ...r.headers.map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
  const bytes = Buffer.concat([Buffer.from(text, 'utf8'), Buffer.from(r.tail)]);
  return r.cut === undefined ? bytes : bytes.subarray(0, r.cut);
});

/** A WebSocket frame from its parts, masked or not, its length in any of the three encodings. */
const frame = fc.record({
  fin: fc.boolean(),
  rsv: fc.nat({ max: 7 }),
  opcode: fc.oneof(fc.constantFrom(0x1, 0x1, 0x2, 0x8, 0x9, 0xa, 0x0), fc.nat({ max: 15 })),
  masked: fc.oneof(fc.constant(true), fc.boolean()),
  payload: fc.oneof(
    fc.constantFrom('{"jsonrpc":"2.0","id":1,"method":"ping"}', '{"jsonrpc":"2.0","id":2,"method":"status"}', '{"jsonrpc":"2.0","method":"logs.tail","params":{"lines":5}}', '{', '[]', 'null').map((s) => Buffer.from(s)),
    fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  ),
  lengthForm: fc.constantFrom('short', 'short', '16', '64', 'lie'),
}).map((f) => {
  const n = f.payload.length;
  const first = (f.fin ? 0x80 : 0) | (f.rsv << 4) | f.opcode;
  const mask = f.masked ? 0x80 : 0;
  let header: Buffer;
  if (f.lengthForm === 'lie') header = Buffer.from([first, mask | 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]); // claims 2^63 bytes
  else if (f.lengthForm === '64') header = Buffer.concat([Buffer.from([first, mask | 127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b; })()]);
  else if (f.lengthForm === '16' || n > 125) header = Buffer.from([first, mask | 126, n >> 8, n & 0xff]);
  else header = Buffer.from([first, mask | n]);
  const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const body = f.masked ? Buffer.from(f.payload.map((byte, i) => byte ^ key[i % 4]!)) : f.payload;
  return Buffer.concat([header, f.masked ? key : Buffer.alloc(0), body]);
});
const opened = fc.record({
  route: fc.constantFrom('/v1/control', '/v1/control', '/v1/session/mini'),
  frames: fc.array(fc.oneof(frame, fc.uint8Array({ minLength: 1, maxLength: 64 }).map((a) => Buffer.from(a))), { minLength: 1, maxLength: 6 }),
});

/** The daemon's resident set in bytes (the same /proc reading as mcpd status). */
async function rss(pid: number): Promise<number> {
  const kib = residentKiB(pid);
  assert.ok(kib !== undefined, `no memory reading for pid ${pid}`);
  return kib * 1024;
}

describe('socket fuzz', { skip: process.platform === 'linux' ? undefined : 'reads the daemon\'s memory from /proc' }, () => {
  let s: Sandbox;
  let pid: number;
  before(async () => {
    s = await sandbox();
    await s.writeConfig({ mcpServers: { everything: { command: process.execPath, args: [everything, 'stdio'], env: { FUZZ_MARK: 'healthy-session' } }, mini } });
    await startDaemon(s);
    pid = (JSON.parse((await s.cli(['status', '--json'])).stdout) as { pid: number }).pid;
  });
  after(() => s.cleanup());

  it('random upgrade requests and frames for ~30 s: a concurrent session is unharmed, nothing is left open, memory comes back', { timeout: 180_000 }, async () => {
    const socket = s.env.MCPD_SOCKET!;
    const healthy = new Client({ name: 'fuzz-bystander', version: '1.0.0' });
    await healthy.connect(await mcpdTransport('everything', { socket, autostart: false }));
    assert.equal((await serverEnv(healthy)).FUZZ_MARK, 'healthy-session');

    const requests = fc.sample(request, { numRuns: MAX_ATTEMPTS, seed: SEED });
    const connections = fc.sample(opened, { numRuns: MAX_ATTEMPTS, seed: SEED + 1 });
    const upgrade = (route: string) => Buffer.from(`GET ${route} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
    const attempt = (n: number) => (n % 4 === 3 ? exchange(socket, upgrade(connections[n]!.route), connections[n]!.frames) : exchange(socket, requests[n]!));

    // A first round warms the daemon up (code compiled, buffers pooled) before the baseline is taken.
    for (let n = 0; n < 40; n++) await attempt(n);
    const before = await rss(pid);

    const started = Date.now();
    let next = 40;
    const worker = async () => {
      for (let n = next++; n < MAX_ATTEMPTS && Date.now() - started < DURATION_MS; n = next++) {
        await attempt(n);
        if (n % 200 === 0) assert.deepEqual(await healthy.ping(), {}, `the bystander answers after ${n} attempts`);
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, worker)).catch(async (error: unknown) => {
      // What the daemon said is what tells a crash from a closed session.
      const state = `${s.env.XDG_STATE_HOME}/mcpd`;
      const tail = async (file: string) => (await readFile(`${state}/${file}`, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n');
      throw new Error(`${String(error)} (seed ${SEED})\ndaemon.stderr:\n${await tail('daemon.stderr')}\ndaemon.log:\n${await tail('daemon.log')}`, { cause: error });
    });
    const attempts = Math.min(next, MAX_ATTEMPTS);

    assert.equal((await serverEnv(healthy)).FUZZ_MARK, 'healthy-session', 'the bystander session still works');
    assert.deepEqual(await healthy.ping(), {});
    let open: unknown[] = [];
    await waitFor(async () => (open = JSON.parse((await s.cli(['sessions', '--json'])).stdout) as unknown[]).length === 1, 'every fuzz session to close', 30_000)
      .catch((error: unknown) => assert.fail(`${String(error)}; still open: ${JSON.stringify(open)} (seed ${SEED})`));
    // Memory freed by V8 comes back to the OS in steps: wait (bounded) for it to settle near the start.
    const limit = before * 1.5 + 32 * 1024 * 1024;
    let now = await rss(pid);
    for (let waited = 0; now > limit && waited < 20_000; waited += 500) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      now = await rss(pid);
    }
    console.log(`socket fuzz: seed ${SEED}, ${attempts} attempts in ${((Date.now() - started) / 1000).toFixed(1)} s; daemon RSS ${(before / 2 ** 20).toFixed(1)} MiB before, ${(now / 2 ** 20).toFixed(1)} MiB after`);
    assert.ok(now <= limit, `daemon RSS ${now} bytes after the fuzz run, ${before} before (limit ${Math.round(limit)})`);
    assert.equal((await s.cli(['status'])).exitCode, 0, 'the daemon still answers its control channel');
    await healthy.close();
  });
});
