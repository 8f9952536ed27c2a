/**
 * `mcpd migrate` on a Claude Desktop config in a throwaway home: secrets into the store, the
 * host's entries to `mcpd run NAME`, the migrated server launched through the SDK's Client,
 * `--undo` byte for byte, and every bad input with its message. The token is searched for in
 * every file of the home afterwards.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { serverEnv } from '../helpers/mcp.js';
import { cliMain, fixture } from '../helpers/repo.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';
import { filesUnder } from '../helpers/files.js';

const token = 'ghp_migrateTestToken0123456789abcdefABCD';
// What the name-and-prefix rules missed before: a DSN's password, a JWT under a bland name, a Slack webhook.
const dsn = 'postgresql://admin:pw-dsn-7f3a@db.example.invalid:5432/app';
const jwt = `${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')}.${Buffer.from('{"sub":"migrate-test"}').toString('base64url')}.c2lnbmF0dXJlLW1pZ3JhdGU`;
const webhook = 'https://hooks.slack.com/services/T0MIGRATE/B0MIGRATE/slackWebhookSecret0123';
const moved = [token, dsn, jwt, webhook];
const hostConfig = (mini: string) => `{
  // Claude Desktop's own comments and settings are kept.
  "mcpServers": {
    "mini": { "command": ${JSON.stringify(process.execPath)}, "args": [${JSON.stringify(mini)}], "env": { "MINI_SECRET": "${token}", "CURRENCY": "US$", "LOG_LEVEL": "debug", "PG": "${dsn}", "BEARER": "${jwt}", "NOTIFY": "${webhook}" } },
    "search": { "command": "npx", "args": ["-y", "search-mcp", "--api-key", "sk-argsecret-1234567"] },
    "remote": { "url": "https://mcp.example.invalid/mcp?api_key=remote-url-key-5e6f" }
  },
  "globalShortcut": "Ctrl+Space"
}
`;

describe('mcpd migrate', () => {
  let s: Sandbox;
  let host: string;
  let original: string;
  before(async () => {
    s = await sandbox();
    host = join(s.env.XDG_CONFIG_HOME!, 'Claude', 'claude_desktop_config.json');
    await mkdir(dirname(host), { recursive: true });
    original = hostConfig(fixture('mini-mcp.js'));
    await writeFile(host, original, { mode: 0o644 });
  });
  after(() => s.cleanup());

  it('--dry-run says what would move and why the rest stays; it writes nothing and prints no value', async () => {
    const run = await s.cli(['migrate', '--dry-run']);
    assert.equal(run.exitCode, 0, run.stderr);
    assert.equal(run.stdout, [
      `claude-desktop (${host}):`,
      '  mini: would move to mcpd; MINI_SECRET → ${secret:mini/MINI_SECRET}, PG → ${secret:mini/PG}, BEARER → ${secret:mini/BEARER}, NOTIFY → ${secret:mini/NOTIFY}',
      '    CURRENCY kept as written: looks like a setting, not a secret',
      '    LOG_LEVEL kept as written: looks like a setting, not a secret',
      '  search: left as it is: args[3] looks like a secret, and mcpd puts secrets only in a server\'s environment, never its argv: if the server reads it from an environment variable, pass it that way, then migrate again',
      '  remote: left as it is: its URL carries a credential, and mcpd keeps URLs out of the store (they are logged): if the server takes it in a header, put it there, then migrate again',
      '(dry run: nothing was written)',
      '',
    ].join('\n'));
    assert.equal(await readFile(host, 'utf8'), original);
    await assert.rejects(stat(s.configPath), { code: 'ENOENT' }, 'no mcpd config written');
    assert.equal((await s.cli(['secret', 'get', 'secret:mini/MINI_SECRET'])).exitCode, 3, 'nothing stored');
    const json = await s.cli(['migrate', '--dry-run', '--json']);
    assert.deepEqual((JSON.parse(json.stdout) as Array<{ servers: Array<{ kept?: unknown }> }>)[0]!.servers[0]!.kept, [
      { variable: 'CURRENCY', why: 'looks like a setting, not a secret' },
      { variable: 'LOG_LEVEL', why: 'looks like a setting, not a secret' },
    ]);
    for (const value of moved) assert.ok(!json.stdout.includes(value) && !run.stdout.includes(value) && !run.stderr.includes(value), `${value} printed`);
  });

  it('moves the server: its secret into the store, the host entry to mcpd run; it launches with the value', async () => {
    const run = await s.cli(['migrate', '--from', 'claude-desktop']);
    assert.equal(run.exitCode, 0, run.stderr);
    assert.match(run.stdout, /^ {2}mini: moved to mcpd; MINI_SECRET → \$\{secret:mini\/MINI_SECRET\}, PG → .*\n {4}CURRENCY kept as written: looks like a setting, not a secret\n {4}LOG_LEVEL kept as written: /m);
    const after = await readFile(host, 'utf8');
    assert.match(after, /^ {2}\/\/ Claude Desktop's own comments and settings are kept\.$/m);
    const hostJson = JSON.parse(after.replace(/^\s*\/\/.*$/m, '')) as { mcpServers: Record<string, unknown>; globalShortcut: string };
    assert.deepEqual(hostJson.mcpServers.mini, { command: 'mcpd', args: ['run', 'mini'] });
    assert.deepEqual(hostJson.mcpServers.search, { command: 'npx', args: ['-y', 'search-mcp', '--api-key', 'sk-argsecret-1234567'] }, 'left as it was');
    assert.equal(hostJson.globalShortcut, 'Ctrl+Space');
    assert.equal((await stat(host)).mode & 0o777, 0o644, 'the host file keeps its mode');
    const mine = JSON.parse(await readFile(s.configPath, 'utf8')) as { mcpServers: Record<string, { env: Record<string, string> }> };
    assert.deepEqual(mine.mcpServers.mini!.env, { MINI_SECRET: '${secret:mini/MINI_SECRET}', CURRENCY: 'US$$', LOG_LEVEL: 'debug', PG: '${secret:mini/PG}', BEARER: '${secret:mini/BEARER}', NOTIFY: '${secret:mini/NOTIFY}' });
    assert.equal((await s.cli(['config', 'check'])).exitCode, 0);
    assert.equal((await s.cli(['secret', 'get', 'secret:mini/MINI_SECRET', '--reveal', '--no-newline'])).stdout, token);

    const transport = new StdioClientTransport({ command: process.execPath, args: [cliMain, 'run', '--no-daemon', 'mini'], env: s.env, stderr: 'pipe' });
    const client = new Client({ name: 'migrate-test', version: '1' });
    await client.connect(transport);
    try {
      const env = await serverEnv(client);
      assert.equal(env.MINI_SECRET, token, 'the migrated server gets its token from the store');
      assert.equal(env.CURRENCY, 'US$', 'a literal $ arrives as it was');
      assert.deepEqual([env.PG, env.BEARER, env.NOTIFY], [dsn, jwt, webhook], 'the DSN, the JWT and the webhook arrive from the store');
    } finally {
      await client.close();
    }
    for (const file of await filesUnder(s.dir)) {
      const bytes = await readFile(file);
      for (const value of moved) assert.ok(!bytes.includes(value), `${file} does not hold ${value}`);
    }
  });

  it('again: nothing left to move; --undo puts the host file back byte for byte', async () => {
    const again = await s.cli(['migrate', '--from', 'claude-desktop']);
    assert.match(again.stdout, /^ {2}mini: left as it is: it already runs through mcpd$/m);
    const undone = await s.cli(['migrate', '--undo', '--from', 'claude-desktop']);
    assert.equal(undone.exitCode, 0, undone.stderr);
    assert.equal(undone.stdout, `put back ${host} as it was before mcpd migrate; mcpd's config and the stored secrets are left as they are\n`);
    assert.equal(await readFile(host, 'utf8'), original);
    const redo = await s.cli(['migrate', '--from', 'claude-desktop']);
    assert.match(redo.stdout, /^ {2}mini: moved to mcpd \(already in its config\); MINI_SECRET → /m, 'the same server and value: taken again, nothing duplicated');
  });

  it('Claude Code: each project\'s servers too; one name and value shared by two projects moves once', async () => {
    const linear = (key: string) => ({ command: 'npx', args: ['-y', 'linear-mcp'], env: { LINEAR_API_KEY: key } });
    const claudeJson = join(s.env.HOME!, '.claude.json');
    await writeFile(claudeJson, JSON.stringify({
      numStartups: 12,
      projects: {
        '/work/a': { mcpServers: { linear: linear('lin_api_aaaa1111') }, allowedTools: [] },
        '/work/b': { mcpServers: { linear: linear('lin_api_aaaa1111') } },
        '/work/c': { mcpServers: { linear: linear('lin_api_cccc3333') } },
      },
    }, null, 2));
    const run = await s.cli(['migrate', '--from', 'claude-code']);
    assert.equal(run.exitCode, 0, run.stderr);
    assert.equal(run.stdout.split('\n').slice(1, 4).join('\n'), [
      '  linear (project /work/a): moved to mcpd; LINEAR_API_KEY → ${secret:linear/LINEAR_API_KEY}',
      '  linear (project /work/b): moved to mcpd (already in its config); LINEAR_API_KEY → ${secret:linear/LINEAR_API_KEY}',
      '  linear (project /work/c): left as it is: ${secret:linear/LINEAR_API_KEY} already holds a different value: mcpd does not overwrite it; give the server another name, or remove that secret, then migrate again',
    ].join('\n'));
    const after = JSON.parse(await readFile(claudeJson, 'utf8')) as { numStartups: number; projects: Record<string, { mcpServers: Record<string, unknown>; allowedTools?: unknown[] }> };
    assert.equal(after.numStartups, 12);
    assert.deepEqual(after.projects['/work/a'], { mcpServers: { linear: { command: 'mcpd', args: ['run', 'linear'] } }, allowedTools: [] });
    assert.deepEqual(after.projects['/work/b']!.mcpServers.linear, { command: 'mcpd', args: ['run', 'linear'] });
    assert.deepEqual(after.projects['/work/c']!.mcpServers.linear, linear('lin_api_cccc3333'), 'left as it was');
    assert.equal((await s.cli(['secret', 'get', 'secret:linear/LINEAR_API_KEY', '--reveal', '--no-newline'])).stdout, 'lin_api_aaaa1111');

    const undone = await s.cli(['migrate', '--undo']);
    assert.equal(undone.exitCode, 0, undone.stderr);
    assert.deepEqual(undone.stdout.trim().split('\n').map((line) => line.split(' as it was')[0]), [`put back ${host}`, `put back ${claudeJson}`], 'every host file mcpd changed, and only those');
    assert.equal(await readFile(host, 'utf8'), original);
    assert.deepEqual((JSON.parse(await readFile(claudeJson, 'utf8')) as { projects: Record<string, { mcpServers: Record<string, unknown> }> }).projects['/work/a']!.mcpServers.linear, linear('lin_api_aaaa1111'));
  });

  it('--undo after the host app saved the file: only the entries mcpd replaced go back, the rest as the host saved it', async () => {
    const file = join(s.dir, 'merge.mcp.json');
    const server = (key: string) => ({ command: 'node', args: ['x.js'], env: { API_KEY: key } });
    await writeFile(file, JSON.stringify({ mcpServers: { 'merge-a': server('merge-a-key-0001'), 'merge-b': server('merge-b-key-0002') } }, null, 2));
    assert.equal((await s.cli(['migrate', '--file', file])).exitCode, 0);
    // The host app saves: a server added, one migrated entry edited by hand, a setting of its own.
    const saved = JSON.parse(await readFile(file, 'utf8')) as { mcpServers: Record<string, unknown>; theme?: string };
    saved.mcpServers.added = { command: 'node', args: ['added.js'] };
    saved.mcpServers['merge-b'] = { command: 'node', args: ['edited.js'] };
    saved.theme = 'dark';
    await writeFile(file, JSON.stringify(saved, null, 2));
    const undone = await s.cli(['migrate', '--undo', '--file', file]);
    assert.equal(undone.exitCode, 0, undone.stderr);
    assert.equal(undone.stdout, `${file} changed since mcpd migrate wrote it: put back only the entries mcpd replaced (merge-a), the rest kept as the host app saved it; mcpd's config and the stored secrets are left as they are\n  merge-b: left as it is: the host app changed or removed it since\n`);
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), {
      mcpServers: { 'merge-a': server('merge-a-key-0001'), 'merge-b': { command: 'node', args: ['edited.js'] }, added: { command: 'node', args: ['added.js'] } },
      theme: 'dark',
    });
  });

  it('refuses to write a host file the host app saves while migrate works, and names it; run again, it finishes', async () => {
    const file = join(s.dir, 'busy.mcp.json');
    const text = (n: number) => JSON.stringify({ mcpServers: { busy: { command: 'node', args: ['b.js'], env: { API_KEY: 'busy-key-0003' } } }, saves: n }, null, 2);
    await writeFile(file, text(0));
    // The "host app": saves the file (atomically, as editors do) over and over until migrate is done.
    let saves = 0;
    let writing = true;
    const writer = (async () => {
      while (writing) {
        await writeFile(`${file}.tmp`, text(++saves));
        await rename(`${file}.tmp`, file);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    })();
    const busy = await s.cli(['migrate', '--file', file]);
    writing = false;
    await writer;
    assert.equal(busy.exitCode, 1, busy.stderr);
    assert.match(busy.stderr, new RegExp(`^mcpd: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} changed while mcpd migrate was working on it \\(the host app saved it\\?\\): it was not written\\n  hint: .*mcpd migrate again.*\\n$`));
    assert.equal(await readFile(file, 'utf8'), text(saves), 'the host app\'s last save stands');
    const again = await s.cli(['migrate', '--file', file]);
    assert.equal(again.exitCode, 0, again.stderr);
    assert.deepEqual((JSON.parse(await readFile(file, 'utf8')) as { mcpServers: Record<string, unknown>; saves: number }), { mcpServers: { busy: { command: 'mcpd', args: ['run', 'busy'] } }, saves });
  });

  it('bad inputs: each refused with what to do, and nothing written', async () => {
    const other = join(s.dir, 'project.mcp.json');
    await writeFile(other, '{ "mcpServers": { "x": { "command": "node" } ');
    const broken = await s.cli(['migrate', '--file', other]);
    assert.equal(broken.exitCode, 2);
    assert.match(broken.stderr, new RegExp(`^mcpd: ${other.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1:\\d+: JSON syntax error: .*\\n {2}hint: fix the JSON there, then migrate again\\n$`));

    const unknown = await s.cli(['migrate', '--from', 'notepad']);
    assert.equal(unknown.exitCode, 2);
    assert.equal(unknown.stderr, 'mcpd: --from "notepad" is not a host app mcpd knows; known: claude-desktop, claude-code, cursor, vscode, windsurf\n  hint: or point at the file itself with --file PATH\n');

    const noBackup = await s.cli(['migrate', '--undo', '--from', 'cursor']);
    assert.equal(noBackup.exitCode, 2);
    assert.match(noBackup.stderr, /^mcpd: mcpd keeps no copy of .*\.cursor\/mcp\.json from before a migration\n/);

    // A name mcpd already uses for something else, and a reference that already holds another value.
    const clash = join(s.dir, 'clash.mcp.json');
    const clashText = JSON.stringify({ mcpServers: {
      mini: { command: 'node', args: ['other.js'] },
      fresh: { command: 'node', args: ['x.js'], env: { API_KEY: 'another-value-0000' } },
    } });
    await writeFile(clash, clashText);
    assert.equal((await s.cli(['secret', 'set', 'secret:fresh/API_KEY'], { input: 'set-by-hand-1111' })).exitCode, 0);
    const clashed = await s.cli(['migrate', '--file', clash]);
    assert.equal(clashed.exitCode, 0, clashed.stderr);
    assert.match(clashed.stdout, /^ {2}mini: left as it is: mcpd's config already has a server named "mini" that differs: rename one of them, then migrate again$/m);
    assert.match(clashed.stdout, /^ {2}fresh: left as it is: \$\{secret:fresh\/API_KEY\} already holds a different value: mcpd does not overwrite it; /m);
    assert.equal(await readFile(clash, 'utf8'), clashText, 'nothing to move: the file is untouched');
    assert.equal((await s.cli(['secret', 'get', 'secret:fresh/API_KEY', '--reveal', '--no-newline'])).stdout, 'set-by-hand-1111');
  });
});
