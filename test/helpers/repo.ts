/** Paths tests need, computed from the compiled file's location (dist/test/helpers). */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const fixture = (name: string) => join(repoRoot, 'test', 'fixtures', name);
/** The installed command (package.json's `bin`): the bundle, so the tests run what ships. */
export const cliMain = join(repoRoot, 'dist', 'cli', 'mcpd.cjs');
