/**
 * The daemon's own JSON files in the state dir (`tokens.json`, `oauth.json`): read whole and
 * checked against their schema at start, written atomically (write-file-atomic: temp file,
 * fsync, rename) 0600 in a 0700 folder. They hold hashes only, never a token.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { z } from 'zod';
import { McpdError } from '../../core/errors.js';

/** The file's content by `schema`; undefined when it does not exist; STORE_CORRUPT naming `what` and `file` when it cannot be read or is damaged (`hint` says what moving it aside costs). */
export async function readStateFile<T extends z.ZodTypeAny>(file: string, schema: T, what: string, hint: string): Promise<z.output<T> | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new McpdError('STORE_CORRUPT', `cannot read ${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { hint: 'check the file belongs to you and is readable', cause: error });
  }
  let parsed: z.SafeParseReturnType<unknown, z.output<T>> | undefined;
  try {
    parsed = schema.safeParse(JSON.parse(text));
  } catch {
    parsed = undefined;
  }
  if (!parsed?.success) throw new McpdError('STORE_CORRUPT', `${what} ${file} is damaged`, { hint });
  return parsed.data;
}

/** Writes `body` as the file's JSON, atomically, 0600. */
export async function writeStateFile(file: string, body: unknown): Promise<void> {
  const { default: writeFileAtomic } = await import('write-file-atomic');
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, `${JSON.stringify(body, null, 1)}\n`, { mode: 0o600, fsync: true });
}
