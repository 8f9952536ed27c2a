/**
 * `${file:PATH}`: a file's content, one trailing newline trimmed, `~` expanded. Built in.
 * For secrets other tools already write to disk (`/etc/mcpd/role-id`, a mounted k8s secret).
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { McpdError } from '../core/errors.js';
import { expandHome } from '../core/paths.js';
import type { ProviderContext } from './registry.js';
import { type Provider, type Ref, resolveEach, showRef } from './provider.js';

export const settings = z.strictObject({ type: z.literal('file') });

export function create(name: string, _config: unknown, ctx: ProviderContext): Provider {
  return {
    name,
    resolve: (refs) => resolveEach(refs, async (ref) => ({ value: await readSecretFile(expandHome(ref.path, ctx.env), ref) })),
    close: async () => {},
  };
}

/** Reads a secret file for `ref`, mapping I/O errors to messages that name the file. */
export async function readSecretFile(path: string, ref: Ref): Promise<string> {
  try {
    const text = await readFile(path, 'utf8');
    return text.replace(/\r?\n$/, '');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new McpdError('SECRET_NOT_FOUND', `${showRef(ref)}: file ${path} does not exist`, {
        hint: 'create the file, or correct the path in the reference',
      });
    }
    throw new McpdError('PROVIDER_FAILED', `${showRef(ref)}: cannot read ${path} (${code ?? 'error'})`, {
      hint: code === 'EACCES' ? `make ${path} readable by the user mcpd runs as` : 'check the path names a readable file',
      cause: error,
    });
  }
}
