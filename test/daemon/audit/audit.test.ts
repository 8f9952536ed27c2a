/**
 * The audit log: a scripted session leaves the expected events in order, and none of the
 * injected values, tokens or tool arguments; `mcpd audit` filters; the file rotates at its cap.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../../core/clock.js';
import { AuditLog, MCPD, recordRotationStep } from '../../../daemon/audit/audit.js';
import { followAudit, readAudit, readAuditUpTo } from '../../../daemon/audit/read.js';
import { execa } from 'execa';
import { cliMain, fixture } from '../../helpers/repo.js';
import { type Sandbox, sandbox } from '../../helpers/sandbox.js';
import { MiniSession, startDaemon, waitFor } from '../../helpers/daemon.js';

describe('the audit log after a scripted session', () => {
  let s: Sandbox;
  const secret = `aud-${randomBytes(12).toString('hex')}`;
  const argument = `arg-${randomBytes(12).toString('hex')}`;
  let token: string;
  before(async () => {
    s = await sandbox();
    await s.writeConfig({
      mcpServers: { mini: { command: process.execPath, args: [fixture('mini-mcp.js')], env: { MINI_SECRET: '${local:audit/secret}' }, tools: { deny: ['get-env'] } } },
      providers: { local: { type: 'local', key: 'file' } },
    });
    assert.equal((await s.cli(['secret', 'set', 'local:audit/secret'], { input: secret })).exitCode, 0);
    await startDaemon(s);
    token = (await s.cli(['token', 'create', 'host', '--scope', 'launch:mini'])).stdout.trim();
    const session = await MiniSession.open(s.env.MCPD_SOCKET!, 'mini', token);
    await session.initialize();
    assert.ok((await session.request('tools/call', { name: 'big', arguments: { bytes: 10, note: argument } })).result);
    // Long enough to be passed on as it arrives: its outcome is read from its bytes at the end.
    assert.equal((await session.request('tools/call', { name: 'big', arguments: { bytes: 300_000, isError: true } })).result?.isError, true);
    assert.ok((await session.request('tools/call', { name: 'get-env', arguments: { note: argument } })).error);
    assert.ok((await session.request('tools/call', { name: 'nope', arguments: { note: argument } })).error);
    await session.close();
    await waitFor(async () => (await s.cli(['audit', '--json'])).stdout.includes('session.close'), 'the session to close');
  });
  after(() => s.cleanup());

  it('holds the expected events, in order', async () => {
    const result = await s.cli(['audit', '--json']);
    assert.equal(result.exitCode, 0, result.stderr);
    const events = result.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const strip = ({ time, session, pid, durationMs, ...rest }: Record<string, unknown>) => {
      assert.match(String(time), /^\d{4}-\d\d-\d\dT/);
      if (rest.event === 'session.open') assert.ok(Number(pid) > 0);
      if (rest.event === 'tool.call') assert.equal(typeof durationMs, 'number');
      if (session !== undefined) assert.match(String(session), /^[0-9a-f]{8}$/);
      return rest;
    };
    assert.deepEqual(events.map(strip), [
      // The owner asked for the token (the CLI on the owner-only socket); the rest is the token's.
      { subject: 'owner', roles: [], event: 'token.created', token: 'host', scopes: ['launch:mini'] },
      { subject: 'token:host', roles: [], event: 'token.used', token: 'host', route: '/v1/session/mini' },
      { subject: 'token:host', roles: [], event: 'secret.resolved', server: 'mini', ref: '${local:audit/secret}', provider: 'local' },
      { subject: 'token:host', roles: [], event: 'session.open', server: 'mini', client: undefined, token: 'host' },
      { subject: 'token:host', roles: [], event: 'tool.call', server: 'mini', tool: 'big', outcome: 'ok' },
      { subject: 'token:host', roles: [], event: 'tool.call', server: 'mini', tool: 'big', outcome: 'tool-error' },
      { subject: 'token:host', roles: [], event: 'call.denied', server: 'mini', method: 'tools/call', name: 'get-env', rule: 'mcpServers.mini.tools.deny' },
      { subject: 'token:host', roles: [], event: 'tool.call', server: 'mini', tool: 'nope', outcome: 'error' },
      { subject: 'token:host', roles: [], event: 'session.close', server: 'mini' },
    ].map((e) => JSON.parse(JSON.stringify(e)) as Record<string, unknown>));
  });

  it('holds no injected value, token or tool argument, in any file of the state dir', async () => {
    const state = join(s.env.XDG_STATE_HOME!, 'mcpd');
    const files = await readdir(state, { recursive: true });
    for (const name of files) {
      if (!(await stat(join(state, name))).isFile()) continue;
      const text = await readFile(join(state, name), 'utf8');
      for (const needle of [secret, token, argument]) assert.ok(!text.includes(needle), `${name} holds no ${needle.slice(0, 4)}…`);
    }
    assert.ok(files.includes('audit.log'));
  });

  it('mcpd audit -f prints new events as they are written', async () => {
    const follow = execa(process.execPath, [cliMain, 'audit', '-f', '--json'], { env: s.env, extendEnv: false, reject: false });
    try {
      let out = '';
      follow.stdout.on('data', (chunk: Buffer) => { out += chunk.toString(); });
      await waitFor(async () => out.includes('"session.close"'), 'the past events');
      assert.equal((await s.cli(['token', 'create', 'later', '--scope', 'status:read'])).exitCode, 0);
      await waitFor(async () => out.includes('"token":"later"'), 'the new event');
      assert.equal(out.trim().split('\n').map((l) => (JSON.parse(l) as { event: string }).event).at(-1), 'token.created');
    } finally {
      follow.kill('SIGTERM');
      await follow;
    }
  });

  it('mcpd audit filters by server and time, and prints lines for people', async () => {
    const text = await s.cli(['audit', '--server', 'mini']);
    assert.match(text.stdout, /^\S+Z token:host secret\.resolved session=[0-9a-f]{8} server=mini ref=\$\{local:audit\/secret\} provider=local$/m);
    assert.doesNotMatch(text.stdout, /token\.created/, 'events of no server are left out');
    assert.equal((await s.cli(['audit', '--since', '2099-01-01T00:00:00Z'])).stdout, '');
    const bad = await s.cli(['audit', '--since', 'yesterday-ish']);
    assert.equal(bad.exitCode, 2);
    assert.match(bad.stderr, /mcpd: --since "yesterday-ish" is neither a duration nor a time/);
    const empty = await s.cli(['audit', '--since', '']);
    assert.equal(empty.exitCode, 2);
    assert.match(empty.stderr, /^mcpd: --since "" is neither a duration nor a time\n/);
  });
});

describe('mcpd audit --subject', () => {
  let s: Sandbox;
  let token: string;
  const events = (out: string) => out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event: string; subject: string });
  before(async () => {
    s = await sandbox();
    await s.writeConfig({ mcpServers: { mini: { command: process.execPath, args: [fixture('mini-mcp.js')] } } });
    await startDaemon(s);
    token = (await s.cli(['token', 'create', 'host', '--scope', 'launch:mini'])).stdout.trim();
  });
  after(() => s.cleanup());

  it('keeps only the lines about that subject, matched exactly, with -f too', async () => {
    const follow = execa(process.execPath, [cliMain, 'audit', '-f', '--json', '--subject', 'token:host'], { env: s.env, extendEnv: false, reject: false });
    try {
      let out = '';
      follow.stdout.on('data', (chunk: Buffer) => { out += chunk.toString(); });
      const closed = () => events(out).filter((l) => l.event === 'session.close').length;
      const aSession = async () => {
        const session = await MiniSession.open(s.env.MCPD_SOCKET!, 'mini', token);
        await session.initialize();
        await session.close();
      };
      await aSession();
      await waitFor(async () => closed() === 1, 'the first session in the output: the follow has begun');
      // An owner line written while following, then the token's second session: only the latter is printed.
      assert.equal((await s.cli(['token', 'create', 'other', '--scope', 'status:read'])).exitCode, 0);
      await aSession();
      await waitFor(async () => closed() === 2, 'the second session in the followed output');
      assert.deepEqual(events(out).map((l) => `${l.subject} ${l.event}`), [
        'token:host token.used', 'token:host session.open', 'token:host session.close', 'token:host session.open', 'token:host session.close',
      ]);
    } finally {
      follow.kill('SIGTERM');
      await follow;
    }
    const owner = await s.cli(['audit', '--subject', 'owner']);
    assert.match(owner.stdout, /^\S+Z owner token\.created token=host scopes=\["launch:mini"\]$/m);
    assert.deepEqual(events((await s.cli(['audit', '--json', '--subject', 'owner'])).stdout).map((l) => `${l.subject} ${l.event}`), ['owner token.created', 'owner token.created']);
    assert.equal((await s.cli(['audit', '--subject', 'token:hos'])).stdout, '', 'a prefix is no match');
    assert.equal((await s.cli(['audit', '--subject', 'token:host', '--server', 'nope'])).stdout, '', 'both filters hold');
    const empty = await s.cli(['audit', '--subject', '']);
    assert.equal(empty.exitCode, 2);
    assert.match(empty.stderr, /^mcpd: --subject "" names no subject\n.*token:NAME, user:NAME/s);
  });
});

describe('AuditLog', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'mcpd-audit-')); });
  after(() => rm(dir, { recursive: true, force: true }));

  it('rotates at maxBytes, keeps `keep` old files, and reads back oldest first', async () => {
    const log = new AuditLog(dir, { maxBytes: 4096, keep: 2, clock: systemClock });
    for (let i = 0; i < 200; i++) recordRotationStep(log.by(MCPD), `secret-${i}`, 'stored');
    log.close();
    const files = (await readdir(dir)).sort();
    assert.deepEqual(files, ['audit.log', 'audit.log.1', 'audit.log.2']);
    for (const f of files) assert.ok((await stat(join(dir, f))).size <= 4096, f);
    assert.equal((await stat(join(dir, 'audit.log'))).mode & 0o777, 0o600);
    const lines = await readAudit(dir, {});
    const numbers = lines.map((l) => Number((l as { secret: string }).secret.slice('secret-'.length)));
    assert.equal(numbers.at(-1), 199);
    assert.ok(numbers.length < 200, 'the oldest file went');
    assert.deepEqual(numbers, [...numbers].sort((a, b) => a - b), 'in order');
    assert.equal(lines[0]!.event, 'rotation.step');
  });

  it('a follow started where the read ended misses no line written between the two (mcpd audit -f)', async () => {
    const here = await mkdtemp(join(tmpdir(), 'mcpd-audit-follow-'));
    try {
      const log = new AuditLog(here, { maxBytes: 1 << 20, keep: 2, clock: systemClock });
      recordRotationStep(log.by(MCPD), 'before', 'stored');
      const { lines, end } = await readAuditUpTo(here, {});
      assert.deepEqual(lines.map((l) => (l as { secret: string }).secret), ['before']);
      // Written after the read and before the follow's first look at the file.
      recordRotationStep(log.by(MCPD), 'between', 'stored');
      const seen: string[] = [];
      const stop = followAudit(here, {}, (l) => seen.push((l as { secret: string }).secret), 20, end);
      try {
        recordRotationStep(log.by(MCPD), 'after', 'stored');
        await waitFor(async () => seen.length >= 2, 'the follow to print what came after the read');
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.deepEqual(seen, ['between', 'after']);
      } finally {
        stop();
        log.close();
      }
    } finally {
      await rm(here, { recursive: true, force: true });
    }
  });
});
