/**
 * `node dist/bench/client-parse.js`: what mcpd/client's transport does with each answer before a
 * host app sees it (client/index.ts: the frame's text, JSON.parse, the SDK's
 * JSONRPCMessageSchema), timed in this process on a ping's answer and on a 10 MiB tool result.
 * bench/launch's raw stdio reader skips this work (it reads a long answer's id from its ends),
 * so it is part of what mcpd/client's rows show over direct; a host on the SDK's own stdio
 * transport pays the same per message.
 *
 *   node dist/bench/client-parse.js [--rounds 5] [--bulk-mib 10]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';
import { count, f, median } from './stats.js';

const { values: flags } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, 'bulk-mib': { type: 'string', default: '10' } } });
const ROUNDS = count(flags.rounds, '--rounds', 1);
const MIB = count(flags['bulk-mib'], '--bulk-mib', 1);

/** µs per call of `fn`, over `n` calls after a few untimed ones. */
function perCall(fn: () => unknown, n: number): number {
  for (let i = 0; i < Math.min(n, 100); i++) fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return Number(process.hrtime.bigint() - t0) / 1e3 / n;
}

const ping = Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 12345, result: {} }));
// mini-mcp.js's answer to `big`, in the SDK's key order.
const big = Buffer.from(JSON.stringify({ result: { content: [{ type: 'text', text: 'x'.repeat(MIB * 2 ** 20) }] }, jsonrpc: '2.0', id: 7 }));
const parse = (data: Buffer) => () => JSON.parse(data.toString()) as unknown;
const full = (data: Buffer) => () => {
  const parsed = JSONRPCMessageSchema.safeParse(JSON.parse(data.toString()));
  if (!parsed.success) throw new Error('the bench\'s own answer did not parse as JSON-RPC');
};
const rows: Array<[string, number[]]> = [['ping: text + JSON.parse (µs)', []], ['ping: + JSONRPCMessageSchema (µs)', []], [`${MIB} MiB result: text + JSON.parse (ms)`, []], [`${MIB} MiB result: + JSONRPCMessageSchema (ms)`, []]];
for (let round = 0; round < ROUNDS; round++) {
  rows[0]![1].push(perCall(parse(ping), 20_000));
  rows[1]![1].push(perCall(full(ping), 20_000));
  rows[2]![1].push(perCall(parse(big), 3) / 1e3);
  rows[3]![1].push(perCall(full(big), 3) / 1e3);
}
console.log(`${ROUNDS} rounds, medians · load average (1 min) ${f(loadavg()[0] ?? NaN, 2)}`, '\n\n| work per answer | median | min–max |\n| --- | ---: | ---: |');
for (const [what, values] of rows) console.log(`| ${what} | ${f(median(values), 1)} | ${f(Math.min(...values), 1)}–${f(Math.max(...values), 1)} |`);
