/**
 * Tool policy in the bridge, with the real server-everything driven by the SDK's Client
 * through `mcpd run`, and a fixture server that records every request it receives, to prove a
 * denied call never reached it (also after notifications/tools/list_changed).
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { McpError, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
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
