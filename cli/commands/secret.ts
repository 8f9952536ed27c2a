/**
 * `mcpd secret set|get|rm|ls`. A value comes in only on stdin or a hidden prompt (argv is
 * visible in `ps` and shell history) and goes out only with `--reveal`.
 */
import { McpdError } from '../../core/errors.js';
import type { Provider, Ref } from '../../providers/provider.js';
import { showRef } from '../../providers/provider.js';
import { parseRefBody } from '../../providers/reference.js';
import type { ProviderRegistry } from '../../providers/registry.js';
import { type GlobalOptions, openConfig, openRegistry, output } from '../context.js';

/** REF as the CLI takes it: `local:PATH`, `keychain:S/A`, `secret:PATH`, bare PATH, or a pasted `${…}`. */
export function parseCliRef(text: string): Ref {
  const body = text.startsWith('${') && text.endsWith('}') ? text.slice(2, -1) : text;
  return parseRefBody(body, `the reference "${text}"`, 'secret');
}

type Capability = 'store' | 'remove' | 'list';

async function withProvider<T>(options: GlobalOptions, providerName: string, need: Capability, use: (p: Provider, r: ProviderRegistry) => Promise<T>): Promise<T> {
  const registry = openRegistry(await openConfig(options, false), options);
  try {
    const provider = await registry.get(providerName);
    if (!provider[need]) {
      throw new McpdError('PROVIDER_UNSUPPORTED', `provider "${providerName}" cannot ${need} secrets`, {
        hint: 'use secret:PATH (the default store), local:PATH or keychain:SERVICE/ACCOUNT',
      });
    }
    return await use(provider, registry);
  } finally {
    await registry.close();
  }
}

export async function set(text: string, extra: string[], options: GlobalOptions): Promise<void> {
  if (extra.length > 0) {
    throw new McpdError('USAGE', 'mcpd secret set takes the value on stdin, never on the command line (where ps and shell history would keep it)', {
      hint: `printf %s "$VALUE" | mcpd secret set ${text}   — or run it on a terminal to be prompted`,
    });
  }
  const ref = parseCliRef(text);
  const value = await readValue(ref);
  if (value === '') {
    throw new McpdError('USAGE', `no value given for ${showRef(ref)}; nothing was stored`, {
      hint: `pipe the value in: printf %s "$VALUE" | mcpd secret set ${ref.raw}`,
    });
  }
  const version = await withProvider(options, ref.provider, 'store', (p) => p.store!(ref, value));
  process.stderr.write(`stored ${showRef(ref)} (version ${version})\n`);
}

async function readValue(ref: Ref): Promise<string> {
  if (process.stdin.isTTY) {
    const { read } = await import('read');
    const first = await read({ prompt: `value for ${showRef(ref)}: `, silent: true, replace: '*', output: process.stderr });
    const again = await read({ prompt: 'again: ', silent: true, replace: '*', output: process.stderr });
    if (first !== again) throw new McpdError('USAGE', `the two values typed for ${showRef(ref)} differ; nothing was stored`, { hint: 'run the command again' });
    return String(first);
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  // `echo value | mcpd secret set x` must store `value`, not `value\n`.
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export async function get(text: string, options: GlobalOptions & { reveal?: boolean; newline: boolean }): Promise<void> {
  const ref = parseCliRef(text);
  const registry = openRegistry(await openConfig(options, false), options);
  try {
    const [outcome] = await (await registry.get(ref.provider)).resolve([ref]);
    if (outcome instanceof McpdError) throw outcome;
    if (!outcome) throw new McpdError('INTERNAL', `provider "${ref.provider}" returned no result for ${showRef(ref)}`);
    if (options.reveal) {
      process.stdout.write(options.newline ? `${outcome.value}\n` : outcome.value);
      return;
    }
    const info = { ref: ref.raw, set: true, version: outcome.version ?? null };
    output(options, info, () => `${showRef(ref)} is set${outcome.version ? ` (version ${outcome.version})` : ''}; add --reveal to print it`);
  } finally {
    await registry.close();
  }
}

export async function remove(text: string, options: GlobalOptions): Promise<void> {
  const ref = parseCliRef(text);
  await withProvider(options, ref.provider, 'remove', (p) => p.remove!(ref));
  process.stderr.write(`removed ${showRef(ref)}\n`);
}

export async function list(prefixText: string | undefined, options: GlobalOptions): Promise<void> {
  const { provider, prefix } = splitPrefix(prefixText);
  const refs = await withProvider(options, provider, 'list', (p) => p.list!(prefix));
  const names = refs.map((r) => r.raw).sort();
  output(options, names, () => (names.length ? names.join('\n') : `no secrets in "${provider}"${prefix ? ` under ${prefix}` : ''}`));
}

function splitPrefix(text: string | undefined): { provider: string; prefix: string | undefined } {
  if (!text) return { provider: 'secret', prefix: undefined };
  const colon = text.indexOf(':');
  if (colon === -1) return { provider: 'secret', prefix: text };
  return { provider: text.slice(0, colon), prefix: text.slice(colon + 1) || undefined };
}
