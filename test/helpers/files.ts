/** The files a test searches for values that must not be there. */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Every regular file under `dir`, recursively (sockets and folders left out); none when `dir` is missing. */
export async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}
