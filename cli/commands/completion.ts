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
  let names: string[] = [];
  try {
    names = await Promise.race([list(kind, options), new Promise<string[]>((resolve) => setTimeout(resolve, LIST_TIMEOUT_MS, []).unref())]);
  } catch {
    // Completion offers what it can; an error here would be printed over the user's command line.
  }
  if (names.length) process.stdout.write(`${names.join('\n')}\n`);
  // A keychain's D-Bus connection may still be open: the names are out, so go.
  process.exit(0);
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
