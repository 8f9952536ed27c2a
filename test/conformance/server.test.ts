/**
 * The official MCP conformance suite, server side: the runner's active scenarios (runner.ts finds
 * it) against server-everything's own Streamable HTTP mode, and against `/mcp/everything` on a
 * daemon's loopback TCP listener with the same server-everything over stdio behind it. A
 * differential check, scenario by scenario and check by check: what passes directly passes
 * through mcpd. server-everything lacks most of the suite's test tools (test_image_content and
 * the like), so most scenarios fail directly: those are the server's failures, not mcpd's, and
 * the table in the test's output shows them. `dns-rebinding-protection` must pass through mcpd
 * in full, where the server alone accepts a foreign Host.
 *
 * The runner cannot send an Authorization header: the listener's chain is `none`, on loopback,
 * with a role that grants the one server.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { startDaemon } from '../helpers/daemon.js';
import { freePort, type Running, startEverything } from '../helpers/remote.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';
import { node22, notInstalled, runner } from './runner.js';

const everything = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');

/** A whole active suite took 4 s directly and ~20 s through mcpd on a loaded two-core machine. */
const SUITE_TIMEOUT_MS = 180_000;

/** Scenarios that must pass directly, or the differential would hold over a server the runner never reached. */
const BASELINE = ['server-initialize', 'ping', 'tools-list', 'tools-call-simple-text', 'resources-list', 'prompts-list'];

interface Check { id: string; status: string; errorMessage?: string }

interface SuiteRun {
  /** Each scenario's checks, by its name. */
  readonly scenarios: ReadonlyMap<string, readonly Check[]>;
  readonly output: string;
  readonly seconds: number;
}

/** Passed: at least one check succeeded and none failed or warned (INFO does not count). */
const passed = (checks: readonly Check[]) => checks.some((c) => c.status === 'SUCCESS') && checks.every((c) => c.status === 'SUCCESS' || c.status === 'INFO');

/** `conformance server --url URL -o DIR`, every active scenario; the checks it saved, read back. */
async function runSuite(url: string): Promise<SuiteRun> {
  const out = await mkdtemp(join(tmpdir(), 'mcpd-conformance-server-'));
  try {
    const t0 = performance.now();
    // Its exit code is 1 whenever a scenario fails, which server-everything alone guarantees.
    const run = await execa(node22, [runner, 'server', '--url', url, '--output-dir', out], { reject: false, all: true, env: { NO_COLOR: '1' }, timeout: SUITE_TIMEOUT_MS });
    const seconds = (performance.now() - t0) / 1000;
    const output = run.all ?? '';
    assert.ok(!run.timedOut, `the runner did not finish within ${SUITE_TIMEOUT_MS} ms against ${url}:\n${output}`);
    const scenarios = new Map<string, Check[]>();
    // One folder per scenario: server-NAME-<ISO time with : and . as ->.
    for (const entry of await readdir(out)) {
      const name = /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/.exec(entry)?.[1];
      assert.ok(name, `the runner saved ${entry} in ${out}, which is not server-NAME-TIME`);
      scenarios.set(name, JSON.parse(await readFile(join(out, entry, 'checks.json'), 'utf8')) as Check[]);
    }
    assert.ok(scenarios.size > 0, `the runner saved no scenario's checks against ${url}:\n${output}`);
    return { scenarios, output, seconds };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/** A table cell: pass or FAIL, with the checks that succeeded of all, and the first failure's message. */
function cell(checks: readonly Check[] | undefined): string {
  if (!checks) return 'not run';
  const ok = checks.filter((c) => c.status === 'SUCCESS').length;
  const why = checks.find((c) => c.status !== 'SUCCESS' && c.status !== 'INFO');
  const message = why ? `: ${why.status} ${(why.errorMessage ?? why.id).replace(/\s+/g, ' ').slice(0, 90)}` : '';
  return `${passed(checks) ? 'pass' : 'FAIL'} (${ok}/${checks.length})${message}`;
}

describe('MCP conformance, server side: server-everything directly and through /mcp/everything', { skip: notInstalled }, () => {
  let server: Running;
  let s: Sandbox;
  let direct: SuiteRun;
  let viaMcpd: SuiteRun;
  let mcpdUrl: string;

  before(async () => {
    server = await startEverything('streamableHttp');
    s = await sandbox();
    const port = await freePort();
    await s.writeConfig({
      mcpServers: { everything: { command: process.execPath, args: [everything, 'stdio'] } },
      roles: { conformance: { grants: [{ server: 'everything' }] } },
      socket: { listen: [{ host: '127.0.0.1', port, auth: [{ type: 'none', roles: ['conformance'] }] }] },
    });
    await startDaemon(s);
    mcpdUrl = `http://127.0.0.1:${port}/mcp/everything`;
    // One after the other: on a two-core machine the two would time each other out.
    direct = await runSuite(`${server.origin}/mcp`);
    viaMcpd = await runSuite(mcpdUrl);
  });
  after(async () => {
    await s?.cleanup();
    await server?.stop();
  });

  it('runs the same scenarios both ways, and the server passes the baseline directly', () => {
    assert.deepEqual([...viaMcpd.scenarios.keys()].sort(), [...direct.scenarios.keys()].sort(), viaMcpd.output);
    const missed = BASELINE.filter((name) => !passed(direct.scenarios.get(name) ?? []));
    assert.deepEqual(missed, [], `server-everything alone failed scenarios it passes:\n${direct.output}`);
  });

  it('every scenario and every check that passes directly passes through mcpd', (t) => {
    const names = [...direct.scenarios.keys()].sort();
    t.diagnostic(`the active suite took ${direct.seconds.toFixed(1)} s directly and ${viaMcpd.seconds.toFixed(1)} s through ${mcpdUrl}`);
    t.diagnostic('| scenario | server-everything directly | through mcpd |');
    t.diagnostic('| --- | --- | --- |');
    for (const name of names) t.diagnostic(`| ${name} | ${cell(direct.scenarios.get(name))} | ${cell(viaMcpd.scenarios.get(name))} |`);
    const count = (run: SuiteRun) => names.filter((name) => passed(run.scenarios.get(name) ?? [])).length;
    t.diagnostic(`passed: ${count(direct)} of ${names.length} directly, ${count(viaMcpd)} through mcpd`);

    const lost = names.filter((name) => passed(direct.scenarios.get(name)!) && !passed(viaMcpd.scenarios.get(name) ?? []));
    assert.deepEqual(lost, [], `scenarios that pass directly but not through mcpd:\n${viaMcpd.output}`);
    // A partly passing scenario (dns-rebinding-protection, directly) keeps each check it passed.
    const lostChecks = names.flatMap((name) => {
      const through = viaMcpd.scenarios.get(name) ?? [];
      return direct.scenarios.get(name)!.filter((c) => c.status === 'SUCCESS' && through.find((m) => m.id === c.id)?.status !== 'SUCCESS').map((c) => `${name}: ${c.id}`);
    });
    assert.deepEqual(lostChecks, [], 'checks that succeed directly but not through mcpd');
  });

  it('dns-rebinding-protection passes in full through mcpd: a foreign Host and Origin are refused, localhost served', () => {
    const checks = viaMcpd.scenarios.get('dns-rebinding-protection');
    assert.ok(checks, `the runner ran no dns-rebinding-protection:\n${viaMcpd.output}`);
    assert.deepEqual(checks.map((c) => [c.id, c.status, c.errorMessage]).sort(), [
      ['localhost-host-rebinding-rejected', 'SUCCESS', undefined],
      ['localhost-host-valid-accepted', 'SUCCESS', undefined],
    ]);
  });
});
