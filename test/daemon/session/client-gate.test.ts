/**
 * The policy gate on client messages, through the session bridge to a fake server process: the
 * server receives exactly the message the gate judged (duplicate keys, escapes, batches, odd ids),
 * checked case by case and by a fast-check property against JSON.parse of the bytes it receives.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { AuditEvent } from '../../../daemon/audit/events.js';
import { PolicyGate } from '../../../daemon/policy/gate.js';
import { compilePolicy } from '../../../daemon/policy/policy.js';
import type { ClientLink } from '../../../daemon/session/client-link.js';
import { Session } from '../../../daemon/session/session.js';
import { DEFAULT_BACKOFF, Instance } from '../../../daemon/supervisor/instance.js';
import { type FakeProcess, fakeStarter, leaseRecorder } from '../../helpers/fake-process.js';
import { ManualClock } from '../../helpers/manual-clock.js';

type Answer = { id?: unknown; error?: { code: number; message: string; data?: unknown } };

/** The client's end: every message the session sent it, parsed. */
class Link implements ClientLink {
  readonly sent: Answer[] = [];
  readonly bufferedAmount = 0;
  send(message: Buffer | string): void { this.sent.push(JSON.parse(message.toString()) as Answer); }
  sendPart(): void { assert.fail('no message is long enough to be sent in parts'); }
  onFlushed(): void {}
  pause(): void {}
  resume(): void {}
  close(): void {}
}

/** A session whose server denies the tool get-env and allows only the prompt "simple". */
async function setup() {
  const audit: AuditEvent[] = [];
  const policy = compilePolicy({ tools: { deny: ['get-env'] }, prompts: { allow: ['simple'] } }, 'mcpServers.srv');
  const gate = new PolicyGate({ policy: () => policy, audit: { record: (e) => audit.push(e) }, session: 's1', server: 'srv', now: () => 0 });
  const start = fakeStarter();
  const instance = new Instance({
    session: 's1', prepare: async () => ({ command: 'fake', args: [], env: {}, secrets: [], refs: [], leases: [] }), start, clock: new ManualClock(),
    keepLeases: leaseRecorder().keep, backoff: DEFAULT_BACKOFF, maxMessageBytes: 1 << 20,
  });
  const link = new Link();
  const session = new Session({ id: 's1', server: 'srv', instance, link, client: undefined, gate, log: () => {}, note: () => {}, onEnd: () => {} });
  await session.start();
  const child = start.started[0]!;
  let sentinels = 0;
  /** What the server received of `text` (its lines before a ping sent after it), and what the client was answered. */
  const send = async (text: string): Promise<{ server: string[]; client: Answer[]; audit: AuditEvent[] }> => {
    const [sent, audited, received] = [link.sent.length, audit.length, child.received.length];
    session.fromClient(text);
    const client = link.sent.slice(sent);
    const sentinel = JSON.stringify({ jsonrpc: '2.0', id: `sentinel-${++sentinels}`, method: 'ping' });
    session.fromClient(sentinel);
    await untilReceived(child, sentinel);
    return { server: child.received.slice(received, -1), client, audit: audit.slice(audited) };
  };
  return { send, audit };
}

async function untilReceived(child: FakeProcess, line: string): Promise<void> {
  while (child.received.at(-1) !== line) await child.receivedAtLeast(child.received.length + 1);
}

/** How a server's JSON.parse reads a message, judged by the rules above written out by hand. */
function verdictOf(text: string): 'pass' | 'denied' | 'invalid' {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return 'invalid';
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return 'invalid';
  const m = message as Record<string, unknown>;
  if (!Object.hasOwn(m, 'method')) return 'pass';
  if (typeof m.method !== 'string') return 'invalid';
  if (Object.hasOwn(m, 'id') && !(typeof m.id === 'string' || (typeof m.id === 'number' && Number.isFinite(m.id)))) return 'invalid';
  const name = typeof m.params === 'object' && m.params !== null ? (m.params as Record<string, unknown>).name : undefined;
  if (m.method === 'tools/call' && name === 'get-env') return 'denied';
  if (m.method === 'prompts/get' && name !== 'simple') return 'denied';
  return 'pass';
}

describe('the gate judges exactly what the server receives', () => {
  it('two "method" keys: the last one, which the server would read, is judged; the denied call never reaches it and is audited', async () => {
    const t = await setup();
    const out = await t.send('{"jsonrpc":"2.0","id":3,"method":"ping","method":"tools/call","params":{"name":"get-env"}}');
    assert.deepEqual(out.server, []);
    assert.equal(out.client[0]?.error?.code, -32003);
    assert.equal(out.client[0]?.id, 3);
    assert.match(out.client[0]!.error!.message, /^mcpd policy: tool "get-env" is denied: it matches "get-env" in mcpServers\.srv\.tools\.deny; the request was not passed to the server$/);
    assert.deepEqual(out.audit, [{ event: 'call.denied', session: 's1', server: 'srv', method: 'tools/call', name: 'get-env', rule: 'mcpServers.srv.tools.deny' }]);
  });

  it('the reverse order, duplicate names in params and escaped method names are judged as JSON.parse reads them', async () => {
    const t = await setup();
    for (const text of [
      '{"jsonrpc":"2.0","id":4,"method":"tools/call","method":"ping","params":{"name":"get-env"}}',
      '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"get-env","name":"echo"}}',
    ]) {
      const out = await t.send(text);
      assert.deepEqual(out.server, [JSON.stringify(JSON.parse(text))], 'passed on, without the duplicate the gate did not judge');
      assert.deepEqual(out.client, []);
    }
    for (const text of [
      '{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"echo","name":"get-env"}}',
      '{"jsonrpc":"2.0","id":7,"method":"tools\\u002fcall","params":{"name":"get\\u002Denv"}}',
      '{"jsonrpc":"2.0","id":8,"method":"tools\\/call","params":{"name":"get-env"},"params":{"name":"get-env"}}',
    ]) {
      const out = await t.send(text);
      assert.deepEqual(out.server, [], text);
      assert.equal(out.client[0]?.error?.code, -32003, text);
    }
  });

  it('a batch is refused whole with -32600, saying MCP has no batches; nothing of it reaches the server', async () => {
    const t = await setup();
    const out = await t.send('[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get-env"}},{"jsonrpc":"2.0","id":2,"method":"ping"}]');
    assert.deepEqual(out.server, []);
    assert.deepEqual(out.client, [{ jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request: MCP does not use JSON-RPC batches (removed in protocol version 2025-06-18); send each message on its own. The batch was not passed to the server' } }]);
  });

  it('a request whose id is null, an object or not a finite number, or whose method is not a string, is refused as invalid', async () => {
    const t = await setup();
    const cases: Array<[string, RegExp]> = [
      ['{"jsonrpc":"2.0","id":null,"method":"tools/call","params":{"name":"get-env"}}', /^Invalid Request: the id of this "tools\/call" request is null; MCP request ids are strings or numbers\. It was not passed to the server$/],
      ['{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}', /the id of this "ping" request is an object;/],
      ['{"jsonrpc":"2.0","id":[1],"method":"ping"}', /the id of this "ping" request is an array;/],
      ['{"jsonrpc":"2.0","id":true,"method":"ping"}', /the id of this "ping" request is a boolean;/],
      ['{"jsonrpc":"2.0","id":1e400,"method":"ping"}', /the id of this "ping" request is not a finite number;/],
      ['{"jsonrpc":"2.0","id":1,"method":7}', /^Invalid Request: "method" is not a string; the message was not passed to the server$/],
    ];
    for (const [text, message] of cases) {
      const out = await t.send(text);
      assert.deepEqual(out.server, [], text);
      assert.equal(out.client.length, 1, text);
      assert.equal(out.client[0]!.error?.code, -32600, text);
      assert.match(out.client[0]!.error!.message, message);
    }
  });

  it('a denied call sent as a notification (no id) is dropped and audited: nothing to answer, nothing passed on', async () => {
    const t = await setup();
    const out = await t.send('{"jsonrpc":"2.0","method":"tools/call","params":{"name":"get-env"}}');
    assert.deepEqual(out.server, []);
    assert.deepEqual(out.client, []);
    assert.equal(out.audit[0]?.event, 'call.denied');
  });

  it('what passes reaches the server re-serialised: pretty-printed JSON as one line, with the same content', async () => {
    const t = await setup();
    const text = '{\n  "jsonrpc": "2.0",\n  "id": "a\\u0062",\n  "method": "tools/call",\n  "params": { "name": "echo", "arguments": { "s": "\\u00e9\\n" } }\n}';
    const out = await t.send(text);
    assert.deepEqual(out.server, ['{"jsonrpc":"2.0","id":"ab","method":"tools/call","params":{"name":"echo","arguments":{"s":"é\\n"}}}']);
  });
});

// Raw JSON text, built by hand so keys repeat, escapes and whitespace vary and order is free.
const space = fc.constantFrom('', ' ', '\n', '\t', '\r\n  ');
/** A JSON string for `text`, each character written plainly or as \uXXXX (either case), '/' also as '\/'. */
const jsonString = (text: string) => fc.array(fc.constantFrom(0, 1, 2, 3), { minLength: text.length, maxLength: text.length }).map((how) => {
  const chars = [...text].map((c, i) => {
    const hex = c.charCodeAt(0).toString(16).padStart(4, '0');
    if (how[i] === 1) return `\\u${hex}`;
    if (how[i] === 2) return `\\u${hex.toUpperCase()}`;
    if (how[i] === 3 && c === '/') return '\\/';
    return JSON.stringify(c).slice(1, -1);
  });
  return `"${chars.join('')}"`;
});
const oneOfStrings = (values: string[]) => fc.constantFrom(...values).chain(jsonString);
const object = (entries: fc.Arbitrary<[string, string]>, maxLength = 5) => fc.tuple(fc.array(fc.tuple(entries, space, space, space), { maxLength }), space).map(([list, end]) =>
  `{${list.map(([[key, value], a, b, c]) => `${a}${key}${b}:${c}${value}`).join(',')}${end}}`);
const entry = (keys: string[], value: fc.Arbitrary<string>) => fc.tuple(oneOfStrings(keys), value);
const name = oneOfStrings(['get-env', 'echo', 'simple', 'get-envx', 'GET-ENV']);
// Nested objects repeat keys too: `arguments` and `_meta` may hold their own "name" and "method".
const nested = object(fc.oneof(entry(['name', 'method'], fc.oneof(name, oneOfStrings(['tools/call']))), entry(['x'], fc.constantFrom('{}', '[]', '"get-env"'))), 4);
const params = fc.oneof(
  { weight: 4, arbitrary: object(fc.oneof(entry(['name'], name), entry(['arguments', '_meta', 'uri'], fc.oneof(nested, fc.constantFrom('[]', '"get-env"'))))) },
  { weight: 1, arbitrary: fc.constantFrom('null', '[]', '["get-env"]', '"get-env"', '{"__proto__":{"name":"get-env"}}') },
);
const id = fc.constantFrom('1', '0', '-1', '1.5', '-0', '1e400', '12345678901234567890', 'null', 'true', '{}', '[2]', '"a"', '"\\u0031"', '""');
const method = fc.oneof({ weight: 5, arbitrary: oneOfStrings(['tools/call', 'prompts/get', 'ping', 'tools/list']) }, { weight: 1, arbitrary: fc.constantFrom('5', 'null', '{}', '["tools/call"]') });
const message = object(fc.oneof(
  { weight: 3, arbitrary: entry(['method'], method) },
  { weight: 3, arbitrary: entry(['params'], params) },
  { weight: 2, arbitrary: entry(['id'], id) },
  { weight: 1, arbitrary: entry(['jsonrpc'], fc.constant('"2.0"')) },
  { weight: 1, arbitrary: entry(['result', 'error', '__proto__', 'x'], fc.constantFrom('{}', '{"method":"tools/call","params":{"name":"get-env"}}')) },
), 7);
const text = fc.oneof(
  { weight: 8, arbitrary: message },
  { weight: 1, arbitrary: fc.tuple(fc.array(message, { maxLength: 3 }), space).map(([items, s]) => `${s}[${items.join(',')}]`) },
  { weight: 1, arbitrary: fc.tuple(message, fc.nat()).map(([m, cut]) => m.slice(0, cut % (m.length + 1))) },
);

describe('property: the verdict on what the client sent equals the verdict on JSON.parse of what the server gets', () => {
  it('for messages with duplicate keys at any level, escapes, batches, odd ids, whitespace and any key order', async () => {
    const t = await setup();
    let passed = 0;
    await fc.assert(fc.asyncProperty(text, async (sent) => {
      const out = await t.send(sent);
      const expected = verdictOf(sent);
      assert.ok(out.server.length <= 1, 'one message in, at most one out');
      if (out.server.length === 1) {
        passed += 1;
        const received = out.server[0]!;
        assert.equal(received, JSON.stringify(JSON.parse(sent)), 'the server gets the message re-serialised');
        assert.equal(verdictOf(received), 'pass', `the server got a message it should not have: ${received}`);
        assert.equal(expected, 'pass', `passed on, yet ${expected}: ${sent}`);
        assert.deepEqual(out.client, []);
        return;
      }
      assert.notEqual(expected, 'pass', `refused, yet JSON.parse reads it as allowed: ${sent}`);
      if (expected === 'denied') {
        assert.equal(out.audit.length, 1, 'the denial is audited');
        const parsed = JSON.parse(sent) as { id?: unknown };
        if (Object.hasOwn(parsed, 'id')) assert.deepEqual([out.client[0]?.id, out.client[0]?.error?.code], [JSON.parse(JSON.stringify(parsed.id)), -32003]); // -0 is written 0
        else assert.deepEqual(out.client, [], 'a notification gets no answer');
      } else {
        assert.deepEqual(out.audit, []);
        assert.ok(out.client.length === 1 && [-32600, -32700].includes(out.client[0]!.error!.code), JSON.stringify(out.client));
      }
    }), { numRuns: 600 });
    assert.ok(passed > 50, `enough messages passed for the property to mean something (${passed})`);
  });
});
