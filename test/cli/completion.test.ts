/**
 * `mcpd completion bash|zsh|fish`, run in the real shells against the real `mcpd` on PATH: each
 * script is sourced and asked what it offers after a line typed so far. Server names come from
 * a throwaway config and secret paths from a throwaway local store; a stored value never shows.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { access, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { ARGUMENT_KINDS } from '../../cli/completion/tree.js';
import { cliMain } from '../helpers/repo.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

/** undefined when `shell` runs here; else why its tests skip (a failure under MCPD_REQUIRE_SHELLS=1, as in CI). */
async function missing(shell: string): Promise<string | undefined> {
  const found = await execa(shell, ['-c', 'exit 0'], { reject: false }).catch(() => undefined);
  if (found?.exitCode === 0) return undefined;
  const reason = `${shell} is not installed here (as root: apt-get install -y ${shell})`;
  if (process.env.MCPD_REQUIRE_SHELLS === '1') throw new Error(`MCPD_REQUIRE_SHELLS=1 but ${reason}`);
  return reason;
}
const noZsh = await missing('zsh');
const noFish = await missing('fish');

const sorted = (lines: string) => lines.split('\n').filter(Boolean).sort();

describe('mcpd completion', () => {
  let s: Sandbox;
  let env: Record<string, string>;
  const value = `sv-${randomBytes(12).toString('hex')}`;
  // A name a shell would run if it ever evaluated what mcpd lists.
  let trap: string;
  const scripts: Record<string, string> = {};

  before(async () => {
    s = await sandbox();
    const bin = join(s.dir, 'bin');
    await mkdir(bin);
    await symlink(cliMain, join(bin, 'mcpd'));
    env = { ...s.env, PATH: `${bin}:${s.env.PATH}` };
    trap = join(s.dir, 'evaluated');
    await s.writeConfig({
      mcpServers: { github: { command: 'npx' }, 'my-db': { command: 'pg' } },
      providers: { local: { type: 'local', key: 'file' } },
      rotation: { 'github/pat': { strategy: 'remind', every: '90d' } },
    });
    for (const path of ['github/pat', `team/$(touch ${trap})`]) {
      const set = await s.cli(['secret', 'set', path], { input: value });
      assert.equal(set.exitCode, 0, set.stderr);
    }
    for (const shell of ['bash', 'zsh', 'fish']) {
      const result = await s.cli(['completion', shell]);
      assert.equal(result.exitCode, 0, result.stderr);
      scripts[shell] = join(s.dir, `mcpd.${shell}`);
      await writeFile(scripts[shell], result.stdout);
    }
  });
  after(() => s.cleanup());

  /** What bash offers for `words` (the last one is being completed), as the shell calls it on TAB. */
  async function bash(...words: string[]): Promise<string> {
    const program = 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _mcpd; printf "%s\\n" "${COMPREPLY[@]}"';
    const result = await execa('bash', ['--norc', '--noprofile', '-c', program, 'bash', scripts.bash!, ...words], { env, extendEnv: false, reject: false });
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.stderr, '');
    return result.stdout;
  }

  it('bash: verbs, subcommands and flags from the command tree', async () => {
    assert.deepEqual(sorted(await bash('mcpd', 'st')), ['start', 'status', 'stop']);
    assert.deepEqual(sorted(await bash('mcpd', 'secret', '')), ['get', 'help', 'ls', 'rm', 'set']);
    assert.deepEqual(sorted(await bash('mcpd', 'secret', 'get', '--r')), ['--reveal']);
    assert.deepEqual(sorted(await bash('mcpd', '--config', '/x.json', 'config', 'sc')), ['schema'], 'an option\'s value is not taken for a verb');
    assert.ok(sorted(await bash('mcpd', 'logs', '-')).includes('--follow'));
    assert.deepEqual(sorted(await bash('mcpd', 'completion', '')), ['bash', 'fish', 'zsh']);
  });

  it('bash: server names and rotation keys from the config, also after --config', async () => {
    assert.deepEqual(sorted(await bash('mcpd', 'restart', '')), ['github', 'my-db']);
    assert.deepEqual(sorted(await bash('mcpd', 'run', 'm')), ['my-db']);
    assert.deepEqual(sorted(await bash('mcpd', 'audit', '--server', 'g')), ['github']);
    assert.deepEqual(sorted(await bash('mcpd', 'rotate', '')), ['github/pat']);
    assert.deepEqual(sorted(await bash('mcpd', 'restart', 'github', '')), [], 'one server name, not two');
    const other = join(s.dir, 'other.json');
    await writeFile(other, JSON.stringify({ mcpServers: { elsewhere: { command: 'x' } } }));
    assert.deepEqual(sorted(await bash('mcpd', '-c', other, 'stop', '')), ['elsewhere']);
  });

  it('bash: secret paths from the store, never a value, and a name holding $(…) offered as it is, not run', async () => {
    assert.deepEqual(sorted(await bash('mcpd', 'secret', 'get', '')), ['github/pat', `team/$(touch ${trap})`]);
    assert.deepEqual(sorted(await bash('mcpd', 'secret', 'rm', 'gi')), ['github/pat']);
    await assert.rejects(access(trap), { code: 'ENOENT' });
    const listed = await execa('mcpd', ['__complete', 'secrets'], { env, extendEnv: false });
    assert.equal(listed.stdout, `github/pat\nteam/$(touch ${trap})`);
    assert.ok(!listed.stdout.includes(value) && !listed.stderr.includes(value));
  });

  it('__complete: a broken config or an unknown kind completes nothing, silently, and starts no daemon', async () => {
    const broken = join(s.dir, 'broken.json');
    await writeFile(broken, '{ "mcpServers": ');
    for (const args of [['--config', broken, '__complete', 'servers'], ['__complete', 'values']]) {
      const result = await execa('mcpd', args, { env, extendEnv: false, reject: false });
      assert.deepEqual([result.exitCode, result.stdout, result.stderr], [0, '', ''], args.join(' '));
    }
    assert.deepEqual(sorted(await bash('mcpd', '--config', broken, 'stop', '')), []);
    await assert.rejects(access(s.env.MCPD_SOCKET!), { code: 'ENOENT' });
  });

  it('__complete: a store that never answers is given up after 3 s, with nothing printed', async () => {
    // Reading a FIFO nobody writes to blocks for ever: a stand-in for a keychain waiting on a prompt.
    const fifo = join(s.dir, 'store.fifo');
    await execa('mkfifo', [fifo]);
    const config = join(s.dir, 'hangs.json');
    await writeFile(config, JSON.stringify({ providers: { local: { type: 'local', path: fifo } } }));
    const started = Date.now();
    const result = await execa('mcpd', ['--config', config, '__complete', 'secrets'], { env, extendEnv: false, reject: false, timeout: 20_000 });
    assert.equal(result.timedOut, false, 'it ended by itself');
    assert.deepEqual([result.stdout, result.stderr], ['', '']);
    assert.ok(Date.now() - started >= 3000, 'it waited for the store first');
    assert.deepEqual(sorted(await bash('mcpd', '--config', config, 'secret', 'get', '')), [], 'bash says nothing either');
  });

  it('an unknown shell is a usage error naming the choices', async () => {
    const result = await s.cli(['completion', 'tcsh']);
    assert.equal(result.exitCode, 2);
    assert.equal(result.stderr, "error: command-argument value 'tcsh' is invalid for argument 'shell'. Allowed choices are bash, zsh, fish.\n(run `mcpd help` for usage)\n");
  });

  it('every command the completion lists names for exists and takes an argument', async () => {
    const script = (await s.cli(['completion', 'bash'])).stdout;
    for (const [path, kind] of Object.entries(ARGUMENT_KINDS)) {
      assert.match(script, new RegExp(`\\n    '${path}'\\) .* _mcpd_arg=${kind} ;;`), path);
      const usage = (await s.cli([...path.split(' '), '--help'])).stdout.split('\n')[0]!;
      assert.match(usage, /[<[]\w/, `${path}: ${usage}`);
    }
  });

  it('zsh: the script parses, and offers verbs, flags and server names', { skip: noZsh }, async () => {
    assert.equal((await execa('zsh', ['-n', scripts.zsh!], { reject: false })).exitCode, 0);
    // compadd is the completion system's; in a plain zsh a function of that name prints what it is given.
    const zsh = async (...words: string[]) => {
      const program = 'compadd() { while (( $# )); do case $1 in -a) shift; print -l -- ${(P)1} ;; -d) shift ;; esac; shift; done }; compdef() { :; }; source "$1"; shift; words=("$@"); CURRENT=$#; _mcpd';
      const result = await execa('zsh', ['-f', '-c', program, 'zsh', scripts.zsh!, ...words], { env, extendEnv: false, reject: false });
      assert.equal(result.exitCode, 0, result.stderr);
      return sorted(result.stdout);
    };
    assert.ok((await zsh('mcpd', 'st')).includes('status'));
    assert.ok((await zsh('mcpd', 'secret', 'get', '--r')).includes('--reveal'));
    assert.deepEqual(await zsh('mcpd', 'logs', 'x'), ['github', 'my-db'], 'compadd gets every name; it matches them to the word itself');
    assert.ok(!(await zsh('mcpd', 'secret', 'get', '')).includes(value));
  });

  it('zsh: the real completion system, driven on a terminal (zpty), lists verbs with their descriptions and server names', { skip: noZsh }, async () => {
    // One terminal a question, so no keystroke races the listing before; each read waits for its pattern: no sleeps.
    const drive = [
      'zmodload zsh/zpty',
      'ask() {',
      '  zpty z zsh -f -i',
      `  zpty -w z "PS1='> '; autoload -Uz compinit; compinit -u -D; source \${(q)script}; setopt nobeep"`,
      '  zpty -w -n z "$1"$\'\\t\'',
      '  zpty -r z out "$2"; print -r -- "${out//$\'\\r\'/}"',
      '  zpty -d z',
      '}',
      'script=$1',
      `ask 'mcpd st' '*stop -- *'`,
      `ask 'mcpd restart ' '*my-db*'`,
    ].join('\n');
    // A dumb terminal gets no completion listing: xterm's, with its escape sequences taken out.
    const result = await execa('zsh', ['-f', '-c', drive, 'zsh', scripts.zsh!], { env: { ...env, TERM: 'xterm' }, extendEnv: false, reject: false, timeout: 30_000 });
    assert.equal(result.exitCode, 0, result.stderr);
    const screen = stripVTControlCharacters(result.stdout);
    assert.match(screen, /\nstart -- start a background daemon unless one answers/);
    assert.match(screen, /\nstatus -- the daemon and each server/);
    assert.match(screen, /\ngithub +my-db/);
  });

  it('fish: the script parses, and complete -C lists verbs, flags and server names', { skip: noFish }, async () => {
    assert.equal((await execa('fish', ['--no-execute', scripts.fish!], { reject: false })).exitCode, 0);
    const fish = async (line: string) => {
      const result = await execa('fish', ['--no-config', '-c', `source ${scripts.fish}; complete -C ${JSON.stringify(line)}`], { env, extendEnv: false, reject: false });
      assert.equal(result.exitCode, 0, result.stderr);
      return sorted(result.stdout).map((l) => l.split('\t')[0]);
    };
    assert.deepEqual(await fish('mcpd st'), ['start', 'status', 'stop']);
    assert.match((await execa('fish', ['--no-config', '-c', `source ${scripts.fish}; complete -C "mcpd sto"`], { env, extendEnv: false })).stdout, /^stop\tstop the daemon/);
    assert.deepEqual(await fish('mcpd secret get --r'), ['--reveal']);
    assert.deepEqual(await fish('mcpd restart '), ['github', 'my-db']);
    assert.deepEqual(await fish('mcpd secret ls gi'), ['github/pat']);
  });
});
