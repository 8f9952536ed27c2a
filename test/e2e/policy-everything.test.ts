/**
 * Tool policy in the bridge, with the real server-everything driven by the SDK's Client
 * through `mcpd run`, and a fixture server that records every request it receives, to prove a
 * denied call never reached it (also after notifications/tools/list_changed). Then messages
 * written by hand to the daemon's socket that tried to slip a denied call past the gate.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { McpError, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { MiniSession, startDaemon } from '../helpers/daemon.js';
import { fixture, cliMain } from '../helpers/repo.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

const everything = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');

async function connect(s: Sandbox, name: string): Promise<Client> {
  const client = new Client({ name: 'mcpd-policy-e2e', version: '1.0.0' });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [cliMain, 'run', name], env: s.env }));
  return client;
}

async function deniedError(call: Promise<unknown>): Promise<McpError> {
  const error = await call.then(() => assert.fail('the call was answered'), (e: unknown) => e);
  assert.ok(error instanceof McpError, String(error));
  return error;
}

describe('tools.deny and tools.readOnly', () => {
  let s: Sandbox;
  let record: string;
  before(async () => {
    s = await sandbox();
    record = join(s.dir, 'received.txt');
    await writeFile(record, '');
    await s.writeConfig({
      mcpServers: {
        everything: { command: process.execPath, args: [everything, 'stdio'], tools: { deny: ['get-env'] }, prompts: { deny: ['args-*'] } },
        mini: { command: process.execPath, args: [fixture('mini-mcp.js')], env: { MINI_RECORD: record }, tools: { deny: ['get-env', 'secret-*'] } },
        readonly: { command: process.execPath, args: [fixture('mini-mcp.js')], env: { MINI_RECORD: record }, tools: { readOnly: true } },
      },
    });
  });
  after(() => s.cleanup());

  it('server-everything: get-env is missing from tools/list, and calling it returns mcpd\'s JSON-RPC error', async () => {
    const client = await connect(s, 'everything');
    try {
      const { tools } = await client.listTools();
      assert.ok(tools.some((t) => t.name === 'echo'), 'other tools are listed');
      assert.ok(!tools.some((t) => t.name === 'get-env'), 'get-env is hidden');
      const error = await deniedError(client.callTool({ name: 'get-env', arguments: {} }));
      assert.equal(error.code, -32003);
      assert.match(error.message, /mcpd policy: tool "get-env" is denied: it matches "get-env" in mcpServers\.everything\.tools\.deny; the request was not passed to the server/);
      assert.deepEqual(error.data, { code: 'POLICY_DENIED', rule: 'mcpServers.everything.tools.deny', pattern: 'get-env' });
      const { prompts } = await client.listPrompts();
      assert.ok(prompts.some((p) => p.name === 'simple-prompt') && !prompts.some((p) => p.name === 'args-prompt'), JSON.stringify(prompts.map((p) => p.name)));
      const prompt = await deniedError(client.getPrompt({ name: 'args-prompt', arguments: { city: 'x' } }));
      assert.match(prompt.message, /mcpd policy: prompt "args-prompt" is denied: it matches "args-\*" in mcpServers\.everything\.prompts\.deny/);
      assert.equal((await client.callTool({ name: 'echo', arguments: { message: 'hi' } })).isError, undefined);
    } finally {
      await client.close();
    }
  });

  it('a fixture server never receives the denied call, also for a tool added after tools/list_changed', async () => {
    const client = await connect(s, 'mini');
    try {
      const changed = new Promise<void>((resolve) => client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()));
      assert.ok(!(await client.listTools()).tools.some((t) => t.name === 'get-env'));
      await deniedError(client.callTool({ name: 'get-env', arguments: {} }));
      await client.callTool({ name: 'add-tool', arguments: { name: 'secret-dump' } });
      await changed;
      const names = (await client.listTools()).tools.map((t) => t.name);
      assert.ok(!names.includes('secret-dump') && names.includes('add-tool'), names.join(' '));
      const error = await deniedError(client.callTool({ name: 'secret-dump', arguments: {} }));
      assert.match(error.message, /tool "secret-dump" is denied: it matches "secret-\*"/);
      await client.callTool({ name: 'pid', arguments: {} });
    } finally {
      await client.close();
    }
    const received = await readFile(record, 'utf8');
    assert.match(received, /^tools\/call add-tool$/m, 'the recorder works');
    assert.match(received, /^tools\/call pid$/m);
    assert.doesNotMatch(received, /get-env|secret-dump/);
  });

  it('tools.readOnly lists and allows only tools annotated readOnlyHint', async () => {
    await writeFile(record, '');
    const client = await connect(s, 'readonly');
    try {
      assert.deepEqual((await client.listTools()).tools.map((t) => t.name), ['pid']);
      const error = await deniedError(client.callTool({ name: 'crash', arguments: {} }));
      assert.match(error.message, /tool "crash" is denied: it is not annotated readOnlyHint and the server is read-only/);
      await client.callTool({ name: 'pid', arguments: {} });
    } finally {
      await client.close();
    }
    assert.doesNotMatch(await readFile(record, 'utf8'), /crash/);
  });
});

describe('messages crafted to slip get-env past the gate, sent to a real daemon', () => {
  let s: Sandbox;
  const token = `gate-${randomBytes(16).toString('hex')}`;
  const server = (extra: object) => ({ command: process.execPath, args: [everything, 'stdio'], env: { DEMO_TOKEN: '${local:e2e/token}' }, ...extra });
  before(async () => {
    s = await sandbox();
    await s.writeConfig({
      mcpServers: { everything: server({ tools: { deny: ['get-env'] } }), open: server({}) },
      providers: { local: { type: 'local', key: 'file' } },
    });
    assert.equal((await s.cli(['secret', 'set', 'local:e2e/token'], { input: token })).exitCode, 0);
    await startDaemon(s);
  });
  after(() => s.cleanup());

  /**
   * Every message the session receives after `text`, up to the answer to an echo call sent after
   * it (the server's notifications too); the server answers tool calls in order, so a get-env
   * that slipped through would be answered first.
   */
  async function answersTo(session: MiniSession, text: string): Promise<Array<Record<string, unknown>>> {
    session.ws.send(text);
    session.ws.send(JSON.stringify({ jsonrpc: '2.0', id: 'after', method: 'tools/call', params: { name: 'echo', arguments: { message: 'after' } } }));
    const got: Array<Record<string, unknown>> = [];
    for (;;) {
      const message = await session.next();
      if (message.id === 'after') return got;
      got.push(message as Record<string, unknown>);
    }
  }

  it('without a policy, get-env returns the injected value (what the attempts below must not get)', async () => {
    const session = await MiniSession.open(s.env.MCPD_SOCKET!, 'open');
    try {
      await session.initialize();
      assert.ok(JSON.stringify(await session.request('tools/call', { name: 'get-env', arguments: {} })).includes(token));
    } finally {
      await session.close();
    }
  });

  it('two "method" keys, a batch, an id of null and a notification: none reaches get-env, and the denials are audited', async () => {
    const session = await MiniSession.open(s.env.MCPD_SOCKET!, 'everything');
    let seen = '';
    session.ws.on('message', (data: Buffer) => { seen += data.toString(); });
    try {
      await session.initialize();
      const call = '"method":"tools/call","params":{"name":"get-env","arguments":{}}';
      const responses = (all: Array<Record<string, unknown>>) => all.filter((m) => m.method === undefined);
      const duplicate = await answersTo(session, `{"jsonrpc":"2.0","id":3,"method":"ping",${call}}`);
      assert.deepEqual(responses(duplicate).map((m) => [m.id, (m.error as { code: number } | undefined)?.code]), [[3, -32003]]);
      assert.match(JSON.stringify(duplicate), /mcpd policy: tool \\"get-env\\" is denied: it matches \\"get-env\\" in mcpServers\.everything\.tools\.deny/);
      const batch = await answersTo(session, `[{"jsonrpc":"2.0","id":4,${call}},{"jsonrpc":"2.0","id":5,"method":"ping"}]`);
      assert.deepEqual(responses(batch).map((m) => [m.id, (m.error as { code: number; message: string }).code]), [[null, -32600]]);
      assert.match(JSON.stringify(batch), /MCP does not use JSON-RPC batches/);
      const nullId = await answersTo(session, `{"jsonrpc":"2.0","id":null,${call}}`);
      assert.deepEqual(responses(nullId).map((m) => [m.id, (m.error as { code: number }).code]), [[null, -32600]]);
      assert.match(JSON.stringify(nullId), /the id of this \\"tools\/call\\" request is null/);
      const notification = await answersTo(session, `{"jsonrpc":"2.0",${call}}`);
      assert.deepEqual(responses(notification), [], 'a notification gets no answer, and no tool result');
      for (const answers of [duplicate, batch, nullId, notification]) assert.ok(!JSON.stringify(answers).includes(token), 'the secret never comes back');
      assert.ok(seen.includes('"id":"after"') && !seen.includes(token), 'nor in anything else the session received');
    } finally {
      await session.close();
    }
    const audit = await s.cli(['audit', '--json']);
    assert.equal(audit.exitCode, 0, audit.stderr);
    const denied = audit.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.event === 'call.denied');
    assert.deepEqual(denied.map((e) => [e.server, e.method, e.name, e.rule]), [
      ['everything', 'tools/call', 'get-env', 'mcpServers.everything.tools.deny'],
      ['everything', 'tools/call', 'get-env', 'mcpServers.everything.tools.deny'],
    ], 'the duplicate-key request and the notification');
    assert.ok(!audit.stdout.includes(token));
  });
});
