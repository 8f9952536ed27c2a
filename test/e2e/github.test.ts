/**
 * `@modelcontextprotocol/server-github` with GITHUB_PERSONAL_ACCESS_TOKEN from the real OS
 * keychain (gnome-keyring on a D-Bus session bus in CI). It lists its tools without network.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { keychainSkipReason } from '../helpers/keychain.js';
import { cliMain } from '../helpers/repo.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

const github = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-github/dist/index.js');
const skip = await keychainSkipReason();

describe('server-github with its token from the OS keychain', { skip: skip ?? false }, () => {
  let s: Sandbox;
  const account = `e2e-github-${randomBytes(4).toString('hex')}`;
  const token = `ghp_${randomBytes(18).toString('hex')}`;
  before(async () => {
    s = await sandbox({ keychain: true });
    await s.writeConfig({ mcpServers: { github: { command: process.execPath, args: [github], env: { GITHUB_PERSONAL_ACCESS_TOKEN: `\${keychain:mcpd-test/${account}}` } } } });
    const set = await s.cli(['secret', 'set', `keychain:mcpd-test/${account}`], { input: token });
    assert.equal(set.exitCode, 0, set.stderr);
  });
  after(async () => {
    await s.cli(['secret', 'rm', `keychain:mcpd-test/${account}`]);
    await s.cleanup();
  });

  it('answers tools/list', async () => {
    const transport = new StdioClientTransport({ command: process.execPath, args: [cliMain, 'run', 'github'], env: s.env, stderr: 'pipe' });
    let stderr = '';
    transport.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const client = new Client({ name: 'mcpd-e2e', version: '1.0.0' });
    await client.connect(transport);
    const { tools } = await client.listTools();
    assert.ok(tools.some((t) => t.name === 'search_repositories'), `tools: ${tools.map((t) => t.name).join(', ')}`);
    await client.close();
    assert.ok(!stderr.includes(token));
  });
});
