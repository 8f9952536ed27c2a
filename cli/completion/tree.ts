/**
 * The command tree as shell completion needs it, read from commander's own (cli/main.ts): each
 * verb's names, its options and what its argument is. The scripts for bash, zsh and fish are
 * generated from this, so a new verb or flag completes without touching them.
 */
import type { Command, Option } from 'commander';
import { McpdError } from '../../core/errors.js';

/** What a word is, when mcpd has to be asked (`mcpd __complete KIND`) or the shell lists files. */
export type DynamicKind = 'servers' | 'secrets' | 'rotations';
export type ValueKind = DynamicKind | 'files';

export interface OptionSpec {
  readonly flags: readonly string[];
  readonly description: string;
  /** The next word is this option's value, not a verb or an argument. */
  readonly takesValue: boolean;
  readonly kind: ValueKind | undefined;
}

export interface CommandSpec {
  /** Its name and aliases, then its subcommands' below it. */
  readonly names: readonly string[];
  readonly description: string;
  readonly options: readonly OptionSpec[];
  readonly subcommands: readonly CommandSpec[];
  /** What its first argument names: listed by mcpd, or a fixed set of choices. */
  readonly argument: DynamicKind | readonly string[] | undefined;
}

/**
 * The arguments that name something mcpd can list, by command path. commander cannot carry
 * this, so it is said here; the completion test fails when a path no longer has an argument.
 */
export const ARGUMENT_KINDS: Readonly<Record<string, DynamicKind>> = {
  run: 'servers',
  stop: 'servers',
  restart: 'servers',
  logs: 'servers',
  rotate: 'rotations',
  'secret set': 'secrets',
  'secret get': 'secrets',
  'secret rm': 'secrets',
  'secret ls': 'secrets',
  'auth login': 'servers',
  'auth logout': 'servers',
};

/** Option values that name a file or something mcpd can list, by long flag. */
export const OPTION_KINDS: Readonly<Record<string, ValueKind>> = {
  '--config': 'files',
  '--socket': 'files',
  '--file': 'files',
  '--server': 'servers',
};

/** The tree below `program`, hidden commands and options left out. */
export function commandTree(program: Command): CommandSpec {
  const globals = program.options.filter((o) => !o.hidden && o.long !== '--version').map(optionSpec);
  return walk(program, [], globals);
}

function walk(command: Command, path: readonly string[], globals: readonly OptionSpec[]): CommandSpec {
  const help = command.createHelp();
  const own = help.visibleOptions(command).map(optionSpec);
  // Root options are read after a verb too (`mcpd status --config x`): each verb offers them.
  const inherited = path.length ? globals.filter((g) => !own.some((o) => o.flags.some((f) => g.flags.includes(f)))) : [];
  const first = command.registeredArguments[0];
  const key = path.join(' ');
  return {
    names: [command.name(), ...command.aliases()],
    description: command.description(),
    options: [...own, ...inherited],
    subcommands: help.visibleCommands(command).map((sub) => walk(sub, [...path, sub.name()], globals)),
    argument: ARGUMENT_KINDS[key] ?? (first?.argChoices ? [...first.argChoices] : undefined),
  };
}

function optionSpec(option: Option): OptionSpec {
  const flags = [option.short, option.long].filter((f): f is string => f !== undefined);
  return {
    flags,
    description: option.description,
    takesValue: option.required || option.optional,
    kind: option.long ? OPTION_KINDS[option.long] : undefined,
  };
}

/** Every command of the tree, with each way of typing its path ('' for the root). */
export function flatten(root: CommandSpec): Array<{ paths: string[]; spec: CommandSpec }> {
  const out: Array<{ paths: string[]; spec: CommandSpec }> = [];
  const visit = (spec: CommandSpec, paths: string[]) => {
    out.push({ paths, spec });
    // A name or an alias at every level reaches the same spec.
    for (const sub of spec.subcommands) visit(sub, paths.flatMap((p) => sub.names.map((n) => (p ? `${p} ${n}` : n))));
  };
  visit(root, ['']);
  return out;
}

/** Every flag whose value has a kind; a flag means one thing wherever it appears (checked here). */
export function valueKinds(root: CommandSpec): Map<string, ValueKind> {
  const map = new Map<string, ValueKind>();
  for (const { spec } of flatten(root)) {
    for (const option of spec.options) {
      if (!option.kind) continue;
      for (const flag of option.flags) {
        if (map.has(flag) && map.get(flag) !== option.kind) throw new McpdError('INTERNAL', `completion: ${flag} names both ${map.get(flag)} and ${option.kind}`, { hint: 'give the two options different flags in cli/main.ts' });
        map.set(flag, option.kind);
      }
    }
  }
  return map;
}

/** Words quoted for a POSIX shell (bash, zsh): nothing inside single quotes is expanded. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}
