/**
 * `mcpd completion SHELL` prints a completion script generated from the command tree, and the
 * hidden `mcpd __complete KIND` lists what the script asks mcpd for: server names, rotation keys,
 * secret paths — names only, never a value. It never starts a daemon and never fails aloud:
 * a broken config or a locked store just completes nothing.
 */
import type { Command } from 'commander';
import { type GlobalOptions, openConfig, openRegistry } from '../context.js';
import { bashScript } from '../completion/bash.js';
import { fishScript } from '../completion/fish.js';
import { type DynamicKind, commandTree } from '../completion/tree.js';
import { zshScript } from '../completion/zsh.js';
import { mcpdVersion } from '../version.js';

const scripts = { bash: bashScript, zsh: zshScript, fish: fishScript };

/** Prints the completion script for `shell` (commander has checked its name). */
export function completion(shell: keyof typeof scripts, program: Command): void {
  process.stdout.write(scripts[shell](commandTree(program), mcpdVersion()));
}

/** A keychain that prompts or a backend that hangs must not hold the shell: past this, nothing is offered. */
const LIST_TIMEOUT_MS = 3000;

/** Prints the names of `kind`, one a line; on any failure, nothing. */
export async function complete(kind: string, options: GlobalOptions): Promise<void> {
  // Completion offers what it can: an error printed here would land on the user's command line.
  const listing = list(kind, options).catch(() => []);
  const names = await Promise.race([listing, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), LIST_TIMEOUT_MS).unref())]);
  if (names === undefined) {
    // process.exit would wait for the stuck call: it joins libuv's threads, where the store's read blocks.
    process.kill(process.pid, 'SIGKILL');
    return;
  }
  // Out before exiting (a pipe is asynchronous on macOS); exit, as a keychain's D-Bus connection may stay open.
  process.stdout.write(names.length ? `${names.join('\n')}\n` : '', () => process.exit(0));
}

async function list(kind: string, options: GlobalOptions): Promise<string[]> {
  const loaded = await openConfig(options, false);
  switch (kind as DynamicKind) {
    case 'servers': return Object.keys(loaded.config.mcpServers).sort();
    case 'rotations': return Object.keys(loaded.config.rotation).sort();
    case 'secrets': {
      const registry = openRegistry(loaded, options);
      try {
        const provider = await registry.get('secret');
        // Paths alone: `mcpd secret get PATH` reads secret:PATH, the default store.
        return (await provider.list?.())?.map((ref) => ref.path) ?? [];
      } finally {
        await registry.close();
      }
    }
    default: return [];
  }
}
