/**
 * `npm run bench:launch`: what `mcpd run` costs a host app, in-process (`--no-daemon`) and
 * through a running daemon, against the same MCP server started directly, through `npx`, and
 * against Node's own start-up (`node -e 0`), the floor every Node CLI pays. Variants run
 * interleaved round-robin so machine drift hits all of them alike. Also: a 10 MiB tool result
 * through each path, the daemon's memory per open session, and what `mcpd run` itself costs
 * before the daemon answers. The client is a raw JSON-RPC reader (bench/rpc.ts). Then the warm
 * pool's lines (bench/warm.ts), against a daemon of their own; `--warm-only` runs just those.
 *
 * More paths are measured in the same rounds: a host app on mcpd/client (the transport a
 * TypeScript host embeds: one hop to the daemon, in this process), and the floors the targets
 * are judged against (bench/floor's): the daemon path's two hops as bare relays, one bare
 * socket hop from this process, raw and parsed as a transport must, direct parsed, and direct
 * on the SDK's own stdio transport (bench/in-process.ts; bench/targets.ts has the targets).
 *
 *   node dist/bench/launch.js [--runs 10] [--pings 200] [--warmup 20] [--burst 2000]
 *                             [--bulk-mib 10] [--bulk-calls 5] [--sessions 20] [--warm-only]
 */
import { rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { BareListener } from './bare-floor.js';
import { benchFlags } from './flags.js';
import { BenchDaemon, cli, daemonMemory } from './daemon.js';
import { viaBareSocket, viaClient, viaParsedSocket, viaParsedStdio, viaSdkStdio } from './in-process.js';
import { type BulkSample, type Path, type Sample, checkInjection, measure, measureBulk, nodeFloor, timeToExit } from './measure.js';
import { CLIENT, DAEMON, DIRECT, DIRECT_PARSED, DIRECT_SDK, NO_DAEMON, RELAYS, SOCKET_HOP, SOCKET_HOP_PARSED, report } from './report.js';
import { TOKEN, miniServer, miniVariants, prepareHome } from './setup.js';
import { count, f } from './stats.js';
import { warmBench } from './warm.js';

const { values: flags, runs: RUNS, latency: LATENCY, bulk: BULK } = benchFlags({ sessions: { type: 'string', default: '20' }, 'warm-only': { type: 'boolean', default: false } });
const BULK_MIB = BULK.bytes / 2 ** 20;
const SESSIONS = count(flags.sessions, '--sessions', 1);

async function main(): Promise<void> {
  const bench = await prepareHome();
  const { home, env, entry, version } = bench;
  const node = process.execPath;
  const listeners: BareListener[] = [];
  let daemon: BenchDaemon | undefined;
  try {
    if (flags['warm-only']) {
      process.stdout.write(await warmBench(bench, RUNS));
      return;
    }
    daemon = await BenchDaemon.start(env);
    const bare = await BareListener.start(join(home, 'bare-e.sock'), [node, entry, 'stdio'], env);
    listeners.push(bare);
    const bareMini = await BareListener.start(join(home, 'bare-m.sock'), [node, miniServer], env);
    listeners.push(bareMini);

    const client = viaClient(CLIENT, 'everything', env.MCPD_SOCKET);
    const variants: Path[] = [
      { name: DIRECT, command: node, args: [entry, 'stdio'] },
      { name: NO_DAEMON, command: node, args: [cli, 'run', '--no-daemon', 'everything'] },
      { name: 'npx -y', command: 'npx', args: ['-y', '@modelcontextprotocol/server-everything', 'stdio'] },
      { name: DAEMON, command: node, args: [cli, 'run', 'everything'] },
      bare.twoHops(RELAYS),
      client,
      viaBareSocket(SOCKET_HOP, bare.socket),
      viaParsedSocket(SOCKET_HOP_PARSED, bare.socket),
      viaParsedStdio(DIRECT_PARSED, node, [entry, 'stdio'], env),
      viaSdkStdio(DIRECT_SDK, node, [entry, 'stdio'], env),
    ];
    const mini = miniVariants({ direct: DIRECT, noDaemon: NO_DAEMON, daemon: DAEMON });
    const bulkVariants: Path[] = [
      ...mini,
      bareMini.twoHops(RELAYS),
      viaClient(CLIENT, 'mini', env.MCPD_SOCKET),
      viaBareSocket(SOCKET_HOP, bareMini.socket),
      viaParsedSocket(SOCKET_HOP_PARSED, bareMini.socket),
      viaParsedStdio(DIRECT_PARSED, node, [miniServer], env),
    ];
    const refusal = [cli, 'run', '--no-autostart', 'nosuchserver'];
    for (const path of [variants[1]!, variants[3]!, client]) await checkInjection(path, env, TOKEN);
    const probe = await timeToExit(node, refusal, env);
    if (probe.code === 0 || !probe.stderr.includes('no server named "nosuchserver"')) {
      throw new Error(`mcpd run nosuchserver was not refused by the daemon as expected (exit ${String(probe.code)}): ${probe.stderr}`);
    }

    // Before the timed rounds: a fresh daemon's idle memory, not one that just moved 10 MiB messages.
    process.stderr.write(`daemon pid ${daemon.pid}: memory with ${SESSIONS} sessions…\n`);
    const memory = await daemonMemory(daemon, mini[2]!, env, SESSIONS);

    // Other work on the machine (a test suite in another shell) skews everything: say so.
    const loadBefore = loadavg()[0] ?? NaN;
    const floor: number[] = [];
    const refused: number[] = [];
    const samples = new Map<string, Sample[]>(variants.map((v) => [v.name, []]));
    const bulk = new Map<string, BulkSample[]>(bulkVariants.map((v) => [v.name, []]));
    // Round 0 is untimed: it fills the disk cache and npm's cache dirs in the throwaway home.
    for (let round = 0; round <= RUNS; round++) {
      const timed = round > 0;
      const ms = await nodeFloor(env);
      if (timed) floor.push(ms);
      for (const variant of variants) {
        const sample = await measure(variant, env, LATENCY);
        if (timed) samples.get(variant.name)!.push(sample);
      }
      const refusedMs = (await timeToExit(node, refusal, env)).ms;
      if (timed) refused.push(refusedMs);
      for (const variant of bulkVariants) {
        const sample = await measureBulk(variant, env, BULK);
        if (timed) bulk.get(variant.name)!.push(sample);
      }
      process.stderr.write(`round ${round}/${RUNS} done${timed ? '' : ' (untimed warm-up)'}\n`);
    }
    const after = await daemon.memory();
    const facts = [
      `server-everything ${version} · load average (1 min) ${f(loadBefore, 2)} before, ${f(loadavg()[0] ?? NaN, 2)} after`,
      `${RUNS} runs per variant, interleaved · ${LATENCY.pings} sequential pings per run (after ${LATENCY.warmup} warm-up) · bursts of ${LATENCY.burst} · ${BULK.calls} bulk calls per run (after 1 untimed)`,
      `daemon: started once with \`mcpd start\` before timing (socket ${env.MCPD_SOCKET.length} bytes in the throwaway home)`,
      `${RELAYS}: stdio → bare-relay.js connect → Unix socket → bare-relay.js listen → the server; the in-process rows' init runs from opening the session (no client process to spawn)`,
    ];
    process.stdout.write(report({ facts, floor, refused, samples, bulk, bulkMiB: BULK_MIB, memory, after }));
    await daemon.stop();
    daemon = undefined;
    process.stdout.write(`\n${await warmBench(bench, RUNS)}`);
  } finally {
    await daemon?.stop();
    for (const listener of listeners) listener.stop();
    // The daemon may still be writing its log as it goes: retry instead of failing the run.
    await rm(home, { recursive: true, force: true, maxRetries: 5 });
  }
}

await main();
