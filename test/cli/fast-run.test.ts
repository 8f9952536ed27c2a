/**
 * cli/fast-run.ts reads the plain `mcpd run NAME` without commander. What it accepts must give
 * the options commander gives; everything else must be left to commander, which the last test
 * checks against the installed command itself.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fastRun } from '../../cli/fast-run.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

const base = { env: [], daemon: true, autostart: true, browser: true, adhoc: false };

describe('fastRun', () => {
  it('reads mcpd run NAME', () => {
    assert.deepEqual(fastRun(['run', 'github']), { ...base, target: ['github'] });
  });

  it('reads --no-daemon, --no-autostart and --no-browser after run', () => {
    assert.deepEqual(fastRun(['run', '--no-daemon', 'github']), { ...base, daemon: false, target: ['github'] });
    assert.deepEqual(fastRun(['run', 'github', '--no-autostart']), { ...base, autostart: false, target: ['github'] });
    assert.deepEqual(fastRun(['run', '--no-browser', 'linear']), { ...base, browser: false, target: ['linear'] });
  });

  it('reads the global options before and after run, spaced or with =', () => {
    assert.deepEqual(fastRun(['-c', '/c.json', 'run', '--socket=/s.sock', '-v', 'db']), { ...base, config: '/c.json', socket: '/s.sock', verbose: true, target: ['db'] });
    assert.deepEqual(fastRun(['run', 'db', '--config', '/c.json', '-s', '/s.sock', '--verbose']), { ...base, config: '/c.json', socket: '/s.sock', verbose: true, target: ['db'] });
  });

  it('leaves every other command line to commander', () => {
    for (const argv of [
      [],
      ['--help'],
      ['run'],
      ['run', '--help'],
      ['run', 'a', 'b'],
      ['run', '-e', 'K=v', 'a'],
      ['run', '--', 'node', 'x.js'],
      ['run', '--no-daemon'],
      ['run', '-c'],
      ['run', '-c', '--no-daemon', 'a'],
      ['run', '--config=', 'a'],
      ['run', '--no-daemon=1', 'a'],
      ['run', '--unknown', 'a'],
      ['run', '-vc', '/c.json', 'a'],
      ['--no-daemon', 'run', 'a'],
      ['--no-browser', 'run', 'a'],
      ['status'],
      ['secret', 'run', 'a'],
    ]) {
      assert.equal(fastRun(argv), undefined, argv.join(' '));
    }
  });
});

describe('the installed command', () => {
  let s: Sandbox;
  before(async () => {
    s = await sandbox();
    await s.writeConfig({ mcpServers: {} });
  });
  after(() => s.cleanup());

  it('gives commander the command lines it does not read itself', async () => {
    const twoNames = await s.cli(['run', '--no-daemon', 'a', 'b']);
    assert.equal(twoNames.exitCode, 2);
    assert.match(twoNames.stderr, /mcpd: mcpd run takes one server name, got 2 words/);
    const help = await s.cli(['run', '--help']);
    assert.equal(help.exitCode, 0);
    assert.match(help.stdout, /--no-daemon/);
    assert.match(help.stdout, /--no-browser +when a remote server needs you to sign in, print the\n/);
  });

  it('runs mcpd run --no-daemon NAME from its own bundle and reports its errors', async () => {
    const result = await s.cli(['run', '--no-daemon', 'nosuch']);
    assert.equal(result.exitCode, 2);
    assert.match(result.stderr, /^mcpd: no server named "nosuch" in the config; known servers: \(none\)\n {2}hint: /);
  });
});
