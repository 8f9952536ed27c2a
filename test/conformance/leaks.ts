/**
 * The conformance host's proof that no credential of a scenario's authorization server is kept in
 * clear: every file of the throwaway home (config, state, logs, audit log, the stores' files) and
 * mcpd's stderr are searched for the values the runner handed over and for the tokens, codes and
 * registered secrets its authorization server issues, which have fixed prefixes. The stores hold
 * them encrypted, so a match is a leak.
 */
import { lstat, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * What the runner's authorization server issues: access tokens `test-token-<ms>` (pre-registration:
 * `test-token-prereg-<ms>`) and `cc-token-<ms>`, the code `test-auth-code`, registered client
 * secrets `test-client-secret` and `test-secret-<ms>`.
 */
const ISSUED = /test-token-\w|cc-token-\d|test-auth-code|test-client-secret|test-secret-\d/;

/** Where (a file's path under `dir`, or a text's name) a credential shows in clear; never the value. */
export async function findLeaks(dir: string, texts: Readonly<Record<string, string>>, secrets: readonly string[]): Promise<string[]> {
  const holds = (text: string) => ISSUED.test(text) || secrets.some((secret) => text.includes(secret));
  const found = Object.entries(texts).filter(([, text]) => holds(text)).map(([name]) => name);
  for (const relative of await readdir(dir, { recursive: true })) {
    const path = join(dir, relative);
    // Sockets and the like have nothing to read; a file the daemon removed meanwhile has nothing left.
    const info = await lstat(path).catch(() => undefined);
    if (!info?.isFile()) continue;
    if (holds(await readFile(path, 'latin1'))) found.push(path);
  }
  return found;
}
