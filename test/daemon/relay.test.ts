/**
 * Long messages through the whole daemon path (`mcpd run` ⇄ daemon ⇄ server), which both relays
 * pass on as they arrive: every answer whole, matched to its request, in order.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { cliMain, fixture } from '../helpers/repo.js';
import { startDaemon } from '../helpers/daemon.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

const MiB = 1024 * 1024;
const call = (id: number | string, method: string, params?: object) => JSON.stringify({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) });
const big = (id: number | string, bytes: number) => call(id, 'tools/call', { name: 'big', arguments: { bytes } });

describe('long messages through the daemon path', () => {
  let s: Sandbox;
  before(async () => {
    s = await sandbox();
    await s.writeConfig({
      mcpServers: {
        mini: { command: process.execPath, args: [fixture('mini-mcp.js')] },
        'mini-id-first': { command: process.execPath, args: [fixture('mini-mcp.js')], env: { MINI_ID_FIRST: '1' } },
      },
    });
    await startDaemon(s);
  });
  after(() => s.cleanup());

  // mini writes its answers as the MCP SDK does, the id after the result; mini-id-first puts it first.
  for (const server of ['mini', 'mini-id-first']) it(`pipelined long and short answers arrive whole and in order, even with stdin closed right after the requests (${server})`, async () => {
    const requests = [
      call(0, 'initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } }),
      big(1, 3 * MiB), call('two', 'ping'), big('th"ree', 200 * 1024), call(4, 'ping'), big(5, 70 * 1024),
    ];
    const run = await execa(process.execPath, [cliMain, 'run', server], { env: s.env, extendEnv: false, input: `${requests.join('\n')}\n`, reject: false, maxBuffer: 64 * MiB });
    assert.equal(run.exitCode, 0, run.stderr);
    const lines = run.stdout.split('\n');
    assert.equal(lines.length, 6);
    const answers = lines.map((line) => JSON.parse(line) as { id: unknown; result?: { content?: Array<{ text: string }> } });
    assert.deepEqual(answers.map((a) => a.id), [0, 1, 'two', 'th"ree', 4, 5]);
    assert.deepEqual([1, 3, 5].map((i) => answers[i]!.result!.content![0]!.text.length), [3 * MiB, 200 * 1024, 70 * 1024]);
    assert.ok(answers[1]!.result!.content![0]!.text === 'x'.repeat(3 * MiB));
  });

  it('the server\'s first stderr line, sent with the daemon\'s upgrade answer, reaches mcpd run\'s stderr', async () => {
    const run = await execa(process.execPath, [cliMain, 'run', 'mini'], { env: s.env, extendEnv: false, input: `${call(1, 'ping')}\n`, reject: false });
    assert.equal(run.exitCode, 0, run.stderr);
    assert.match(run.stderr, /^mini-mcp started pid \d+$/m);
  });

  it('a host that reads slowly holds the long answer back without a warning, and gets all of it, the last bytes after mcpd run has exited', { timeout: 60_000 }, async () => {
    const run = spawn(process.execPath, [cliMain, 'run', 'mini'], { env: s.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    run.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
    // Not 'close': that waits for our end of stdout, which this reader leaves unread until mcpd run has exited.
    const exited = once(run, 'exit') as Promise<[number | null]>;
    // When a child exits, node:child_process (under execa too) resumes its stdout unless a
    // 'readable' listener is on it: read() alone lets what it had not taken yet flow away unread.
    run.stdout.on('readable', () => {});
    run.stdin.end(`${big(1, 4 * MiB)}\n`);
    const whole = { jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'x'.repeat(4 * MiB) }] } };
    const total = JSON.stringify(whole).length + 1;
    const chunks: Buffer[] = [];
    let bytes = 0;
    // 4 KiB at a time, one read per turn of the event loop: far slower than the daemon writes.
    const readUpTo = async (upTo: number) => {
      while (bytes < upTo && !run.stdout.readableEnded) {
        const chunk = run.stdout.read(Math.min(4096, upTo - bytes)) as Buffer | null;
        if (chunk) {
          chunks.push(chunk);
          bytes += chunk.length;
        }
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    };
    // All but the answer's last KiB, which waits in the pipe while mcpd run exits.
    await readUpTo(total - 1024);
    const [exitCode] = await exited;
    await readUpTo(Infinity);
    assert.equal(exitCode, 0, stderr);
    assert.doesNotMatch(stderr, /Warning/);
    assert.equal(bytes, total, `the answer and its newline are ${total} bytes, ${bytes} arrived`);
    const answer = JSON.parse(Buffer.concat(chunks).toString()) as { id: number; result: { content: Array<{ text: string }> } };
    assert.equal(answer.id, 1);
    assert.equal(answer.result.content[0]!.text.length, 4 * MiB);
  });
});

