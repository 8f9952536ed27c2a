/**
 * `mcpd migrate` on a Claude Code config with a remote entry holding a literal bearer token, in
 * a throwaway home: the token into the store, the entry to `mcpd run linear`, that server
 * reached through the SDK's Client (server-everything behind a header check, which lets only
 * the token through), the token in no file of the home, and `--undo` byte for byte.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { authGuard, type Guard, type Running, startEverything } from '../helpers/remote.js';
import { cliMain } from '../helpers/repo.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';
import { filesUnder } from '../helpers/files.js';

const token = 'lin_oauth_migrateRemote0123456789abcdef';
const apiKey = 'remote-api-key-9f8e7d6c5b4a';

describe('mcpd migrate: remote entries', () => {
  let s: Sandbox;
  let everything: Running;
  let guard: Guard;
  let host: string;
  let original: string;

  before(async () => {
    everything = await startEverything('streamableHttp');
    guard = await authGuard(everything.origin, [token]);
    s = await sandbox();
    host = join(s.env.HOME!, '.claude.json');
    // As `claude mcp add --transport http` writes it.
    original = `${JSON.stringify({
      numStartups: 3,
      mcpServers: {
        linear: { type: 'http', url: `${guard.origin}/mcp`, headers: { Authorization: `Bearer ${token}`, 'X-API-Key': apiKey, 'X-Team': 'platform' } },
        tracked: { type: 'http', url: `${guard.origin}/mcp?token=query-token-left-in-host-1a2b` },
        variable: { type: 'sse', url: `${guard.origin}/sse`, headers: { Authorization: 'Bearer ${LINEAR_TOKEN}' } },
      },
    }, null, 2)}\n`;
    await writeFile(host, original, { mode: 0o600 });
  });
  after(async () => {
    await s.cleanup();
    await guard.stop();
    await everything.stop();
  });

  it('moves the remote entry: its secret headers into the store (the scheme kept), the entry to mcpd run; the rest refused with why', async () => {
    const run = await s.cli(['migrate', '--from', 'claude-code']);
    assert.equal(run.exitCode, 0, run.stderr);
    assert.equal(run.stdout, [
      `claude-code (${host}):`,
      '  linear: moved to mcpd; Authorization → ${secret:linear/authorization}, X-API-Key → ${secret:linear/x-api-key}',
      '    X-Team kept as written: looks like a setting, not a secret',
      '  tracked: left as it is: its URL carries a credential, and mcpd keeps URLs out of the store (they are logged): if the server takes it in a header, put it there, then migrate again',
      '  variable: left as it is: its header Authorization uses one of the host app\'s own variables (${…}), which mcpd cannot know: move it by hand',
      'each moved entry now runs "mcpd run NAME"; restart the host app to pick that up. mcpd migrate --undo puts the old file back',
      '',
    ].join('\n'));
    const mine = JSON.parse(await readFile(s.configPath, 'utf8')) as { mcpServers: Record<string, unknown> };
    assert.deepEqual(mine.mcpServers.linear, { url: `${guard.origin}/mcp`, headers: { 'Authorization': 'Bearer ${secret:linear/authorization}', 'X-API-Key': '${secret:linear/x-api-key}', 'X-Team': 'platform' } });
    const hostJson = JSON.parse(await readFile(host, 'utf8')) as { mcpServers: Record<string, unknown>; numStartups: number };
    assert.deepEqual(hostJson.mcpServers.linear, { command: 'mcpd', args: ['run', 'linear'] });
    assert.equal(hostJson.numStartups, 3);
    assert.equal((await s.cli(['config', 'check'])).exitCode, 0);
    assert.equal((await s.cli(['secret', 'get', 'secret:linear/authorization', '--reveal', '--no-newline'])).stdout, token, 'the token alone, without its scheme');
    for (const value of [token, apiKey]) assert.ok(!run.stdout.includes(value) && !run.stderr.includes(value), 'no value printed');
  });

  it('mcpd run linear reaches the server with the token from the store; the token is in no file of the home', async () => {
    const before = guard.seen.length;
    const transport = new StdioClientTransport({ command: process.execPath, args: [cliMain, 'run', 'linear'], env: s.env, stderr: 'pipe' });
    const client = new Client({ name: 'migrate-remote-test', version: '1' });
    await client.connect(transport);
    try {
      const tools = await client.listTools();
      assert.ok(tools.tools.some((t) => t.name === 'echo'), 'server-everything answered through the guard');
      const echoed = await client.callTool({ name: 'echo', arguments: { message: 'through mcpd' } });
      assert.match(JSON.stringify(echoed.content), /through mcpd/);
    } finally {
      await client.close();
    }
    const sent = guard.seen.slice(before);
    assert.ok(sent.length > 0 && sent.every((h) => h.authorization === `Bearer ${token}` && h['x-api-key'] === apiKey && h['x-team'] === 'platform'), 'every request carried the stored headers');
    for (const file of await filesUnder(s.dir)) {
      const bytes = await readFile(file);
      for (const value of [token, apiKey]) assert.ok(!bytes.includes(value), `${file} does not hold a moved value`);
    }
  });

  it('--undo puts the host file back byte for byte', async () => {
    const undone = await s.cli(['migrate', '--undo', '--from', 'claude-code']);
    assert.equal(undone.exitCode, 0, undone.stderr);
    assert.equal(await readFile(host, 'utf8'), original);
    const redo = await s.cli(['migrate', '--from', 'claude-code', '--dry-run']);
    assert.match(redo.stdout, /^ {2}linear: would move to mcpd \(already in its config\); Authorization → /m, 'the same server and values: taken again, nothing duplicated');
  });
});
