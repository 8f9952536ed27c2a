/**
 * RotatingFile on a real folder: the cap holds for every file, `keep` old ones are kept (none
 * with keep 0), new limits apply from the next write, and a file left by an earlier run counts.
 * On a real daemon, `daemon.log` and a server's `logs/NAME.log` rotate at `daemon.log`'s cap.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RotatingFile } from '../../daemon/rotating-file.js';
import { fixture } from '../helpers/repo.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';
import { MiniSession, startDaemon } from '../helpers/daemon.js';

describe('RotatingFile', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'mcpd-rotating-')); });
  after(() => rm(dir, { recursive: true, force: true }));

  const line = (n: number) => `line ${String(n).padStart(4, '0')} ${'x'.repeat(89)}\n`; // 100 bytes

  it('rotates before a write would pass maxBytes and keeps `keep` old files, newest first', async () => {
    const file = new RotatingFile(join(dir, 'a.log'), { maxBytes: 1000, keep: 2 });
    for (let n = 0; n < 45; n++) file.write(line(n));
    file.close();
    assert.deepEqual((await readdir(dir)).filter((f) => f.startsWith('a.log')).sort(), ['a.log', 'a.log.1', 'a.log.2']);
    assert.equal(await readFile(join(dir, 'a.log'), 'utf8'), [40, 41, 42, 43, 44].map(line).join(''));
    assert.equal((await readFile(join(dir, 'a.log.1'), 'utf8')).slice(0, 9), 'line 0030');
    assert.equal((await readFile(join(dir, 'a.log.2'), 'utf8')).slice(0, 9), 'line 0020');
    for (const f of ['a.log', 'a.log.1', 'a.log.2']) {
      const info = await stat(join(dir, f));
      assert.ok(info.size <= 1000, f);
      assert.equal(info.mode & 0o777, 0o600, f);
    }
  });

  it('keep 0 keeps no old file; a file an earlier run left counts toward the cap', async () => {
    await writeFile(join(dir, 'b.log'), line(0).repeat(9), { mode: 0o600 });
    const file = new RotatingFile(join(dir, 'b.log'), { maxBytes: 1000, keep: 0 });
    file.write(line(1));
    file.write(line(2));
    file.close();
    assert.deepEqual((await readdir(dir)).filter((f) => f.startsWith('b.log')), ['b.log']);
    assert.equal(await readFile(join(dir, 'b.log'), 'utf8'), line(2));
  });

  it('takes new limits from the next write on', async () => {
    const file = new RotatingFile(join(dir, 'c.log'), { maxBytes: 10_000, keep: 1 });
    for (let n = 0; n < 5; n++) file.write(line(n));
    file.limits = { maxBytes: 300, keep: 1 };
    file.write(line(5));
    file.close();
    assert.equal(await readFile(join(dir, 'c.log'), 'utf8'), line(5));
    assert.equal((await stat(join(dir, 'c.log.1'))).size, 500);
  });
});

describe('the daemon\'s logs at daemon.log\'s cap', () => {
  let s: Sandbox;
  before(async () => {
    s = await sandbox();
    await s.writeConfig({ mcpServers: { mini: { command: process.execPath, args: [fixture('mini-mcp.js')] } }, daemon: { log: { maxBytes: 4096, keep: 1 } } });
    await startDaemon(s);
  });
  after(() => s.cleanup());

  it('daemon.log and logs/mini.log each rotate at 4 KiB, one old file kept', async () => {
    for (let i = 0; i < 30; i++) {
      const session = await MiniSession.open(s.env.MCPD_SOCKET!, 'mini');
      await session.initialize();
      assert.equal((await session.request('tools/call', { name: 'chatter', arguments: { count: 20, size: 100 } })).error, undefined);
      await session.close();
    }
    assert.equal((await s.cli(['stop'])).exitCode, 0);
    const state = join(s.env.XDG_STATE_HOME!, 'mcpd');
    assert.deepEqual((await readdir(state)).filter((f) => f.startsWith('daemon.log')).sort(), ['daemon.log', 'daemon.log.1']);
    assert.deepEqual((await readdir(join(state, 'logs'))).sort(), ['mini.log', 'mini.log.1']);
    for (const file of ['daemon.log', 'daemon.log.1', 'logs/mini.log', 'logs/mini.log.1']) {
      const info = await stat(join(state, file));
      assert.ok(info.size > (file.endsWith('.1') ? 2048 : 0) && info.size <= 4096, `${file}: ${info.size} bytes`);
      assert.equal(info.mode & 0o777, 0o600, file);
    }
    assert.match(await readFile(join(state, 'daemon.log'), 'utf8'), /"event":"daemon\.stopped"}\n$/, 'the newest lines are in the current file');
    assert.match(await readFile(join(state, 'logs/mini.log'), 'utf8'), /\[[0-9a-f]{8}\] \d+:c{100}\n/);
  });
});
