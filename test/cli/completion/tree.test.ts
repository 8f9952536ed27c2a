/**
 * The command tree read from commander, on a small program of its own: aliases, a flag that
 * takes a value in one verb and not in another, hidden commands, and choices. The bash script
 * made from it is sourced in real bash, as the shell calls it on TAB.
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Argument, Command } from 'commander';
import { execa } from 'execa';
import { bashScript } from '../../../cli/completion/bash.js';
import { commandTree, flatten } from '../../../cli/completion/tree.js';

function program(): Command {
  const root = new Command('mcpd').option('-c, --config <path>', 'config').version('1', '-V, --version');
  const secret = root.command('secret').alias('s').description('secrets');
  secret.command('get').alias('g').argument('<ref>').option('-n, --no-newline', 'no newline');
  root.command('logs').argument('<name>').option('-n, --lines <count>', 'lines');
  root.command('completion').addArgument(new Argument('<shell>').choices(['bash', 'zsh']));
  root.command('__complete', { hidden: true });
  return root;
}

describe('completion: the command tree', () => {
  it('takes names, aliases, choices and each verb\'s options (the root\'s too), and leaves hidden ones out', () => {
    const tree = commandTree(program());
    const byPath = new Map(flatten(tree).flatMap(({ paths, spec }) => paths.map((p) => [p, spec] as const)));
    assert.deepEqual([...byPath.keys()].sort(), ['', 'completion', 'help', 'logs', 's', 's g', 's get', 's help', 'secret', 'secret g', 'secret get', 'secret help']);
    assert.equal(byPath.get('s g'), byPath.get('secret get'));
    assert.deepEqual(byPath.get('completion')?.argument, ['bash', 'zsh']);
    assert.equal(byPath.get('logs')?.argument, 'servers');
    assert.equal(byPath.get('secret get')?.argument, 'secrets');
    const flags = (path: string) => byPath.get(path)!.options.map((o) => `${o.flags.join(',')}${o.takesValue ? '=' : ''}`);
    assert.deepEqual(flags(''), ['-c,--config=', '-V,--version', '-h,--help']);
    assert.deepEqual(flags('logs'), ['-n,--lines=', '-h,--help', '-c,--config=']);
    assert.deepEqual(flags('secret get'), ['-n,--no-newline', '-h,--help', '-c,--config=']);
  });

  it('bash: an alias reaches its verb, and -n takes a value only where it does', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcpd-completion-'));
    try {
      const script = join(dir, 'mcpd.bash');
      await writeFile(script, bashScript(commandTree(program()), '1'));
      // A stand-in mcpd on PATH that says how the script called it.
      await writeFile(join(dir, 'mcpd'), '#!/bin/sh\necho "asked: $*"\n');
      await chmod(join(dir, 'mcpd'), 0o755);
      const bash = async (...words: string[]) => {
        const run = 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _mcpd; printf "%s\\n" "${COMPREPLY[@]}"';
        const result = await execa('bash', ['--norc', '--noprofile', '-c', run, 'bash', script, ...words], { env: { PATH: `${dir}:/usr/bin:/bin` }, extendEnv: false });
        return result.stdout.split('\n').filter(Boolean).sort();
      };
      assert.deepEqual(await bash('mcpd', 's', ''), ['g', 'get', 'help']);
      assert.deepEqual(await bash('mcpd', 's', 'g', '--n'), ['--no-newline']);
      assert.deepEqual(await bash('mcpd', 'completion', 'z'), ['zsh']);
      assert.deepEqual(await bash('mcpd', '-c', 'completion', 'completion', ''), ['bash', 'zsh'], '-c took "completion" as its value');
      assert.deepEqual(await bash('mcpd', 'logs', '-n', '5', 'as'), ['asked: __complete servers'], '5 is the value of logs -n');
      assert.deepEqual(await bash('mcpd', 'logs', '-n', 'as'), [], 'what -n takes is typed, not listed');
      assert.deepEqual(await bash('mcpd', 's', 'g', '-n', 'as'), ['asked: __complete secrets'], 'secret get -n takes no value');
      assert.deepEqual(await bash('mcpd', '-c', '/my config.json', 'logs', 'as'), ['asked: --config /my config.json __complete servers']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
