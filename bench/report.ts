/** The tables and the targets' verdicts, as markdown-ready text. */
import { cpus, release } from 'node:os';
import type { MemorySample } from './daemon.js';
import type { BulkSample, Sample } from './measure.js';
import { f, median, quantile, signed } from './stats.js';
import { MS, RATIO, TARGETS as T, US, verdict } from './targets.js';

export const DIRECT = 'direct';
export const NO_DAEMON = 'mcpd run --no-daemon';
export const DAEMON = 'mcpd run (daemon)';
/** The daemon path's two hops with nothing in them (bare-floor.ts): the floor the daemon's targets are judged against. */
export const RELAYS = 'two bare relays';
/** A host app on mcpd/client (in-process.ts), and the least its one hop can cost. */
export const CLIENT = 'mcpd/client (in process)';
export const SOCKET_HOP = 'bare socket hop (in process)';
/** Direct, and one bare socket hop, with each message parsed as a transport must (in-process.ts): the hop is the floor under mcpd/client. */
export const DIRECT_PARSED = 'direct, parsed (in process)';
export const SOCKET_HOP_PARSED = 'bare socket hop, parsed (in process)';
/** Direct on the SDK's StdioClientTransport: what a TypeScript host app runs without mcpd. */
export const DIRECT_SDK = 'direct on the SDK\'s stdio transport (in process)';

export interface Results {
  facts: string[];
  floor: number[];
  /** `mcpd run --no-autostart nosuchserver` against the running daemon, spawn → exit. */
  refused: number[];
  samples: Map<string, Sample[]>;
  bulk: Map<string, BulkSample[]>;
  bulkMiB: number;
  memory: MemorySample;
  /** The daemon's RSS and high-water mark after every round, KiB. */
  after: { rssKiB: number; hwmKiB: number };
}

const mib = (kib: number) => f(kib / 1024, 1);
const minMax = (values: number[], digits: number) => `${f(Math.min(...values), digits)}–${f(Math.max(...values), digits)}`;

export function report(r: Results): string {
  const summary = [...r.samples].map(([name, runs]) => ({
    name,
    initMed: median(runs.map((s) => s.initMs)),
    initP90: quantile(runs.map((s) => s.initMs), 0.9),
    // A server process keeps one latency level for its whole life (here ~170 or ~350 µs, for
    // every variant alike), so the run is the sample: its percentile, then the median of runs.
    p50: median(runs.map((s) => quantile(s.pingsUs, 0.5))),
    p99: median(runs.map((s) => quantile(s.pingsUs, 0.99))),
    rate: median(runs.map((s) => s.pingsPerSec)),
    spread: runs.map((s) => quantile(s.pingsUs, 0.5)),
  }));
  const row = (name: string) => summary.find((s) => s.name === name)!;
  const direct = row(DIRECT);
  const bulk = [...r.bulk].map(([name, runs]) => ({
    name, init: median(runs.map((s) => s.initMs)), rate: median(runs.map((s) => s.mibPerSec)), rates: runs.map((s) => s.mibPerSec),
  }));
  const bulkDirect = bulk.find((b) => b.name === DIRECT)!;
  const floor = median(r.floor);
  const refused = median(r.refused);
  const cpu = cpus();
  const out: string[] = [
    `date: ${new Date().toISOString()} · node ${process.version} · ${cpu[0]?.model ?? '?'} · ${cpu.length} cores · linux ${release()}`,
    ...r.facts,
    'init: spawn → initialize result; ping p50/p99: each run\'s percentile, median across runs; pings/s: median across runs',
    '',
    '| variant | init median ms | init p90 ms | added vs direct ms | init ×direct | ping p50 µs | ping p99 µs | p50 ×direct | pipelined pings/s | pings/s ×direct |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    `| node -e 0 (spawn→exit) | ${f(floor, 1)} | ${f(quantile(r.floor, 0.9), 1)} | | | | | | | |`,
    ...summary.map((s) => `| ${s.name} | ${f(s.initMed, 1)} | ${f(s.initP90, 1)} | ${s === direct ? '' : signed(s.initMed - direct.initMed, 1)} | ${f(s.initMed / direct.initMed, 2)} | ${f(s.p50, 0)} | ${f(s.p99, 0)} | ${f(s.p50 / direct.p50, 2)} | ${f(s.rate, 0)} | ${f(s.rate / direct.rate, 2)} |`),
    `| mcpd run --no-autostart nosuchserver → 404 (spawn→exit) | ${f(refused, 1)} | ${f(quantile(r.refused, 0.9), 1)} | | | | | | | |`,
    '',
    `ping p50 per run, min–max µs: ${summary.map((s) => `${s.name} ${minMax(s.spread, 0)}`).join(' · ')}`,
    `mcpd run's own start-up against a running daemon (imports + one refused upgrade) over node -e 0: ${signed(refused - floor, 1)} ms`,
    '',
    `bulk: tools/call big of ${r.bulkMiB} MiB on test/fixtures/mini-mcp.js; MiB/s: each run's median call, median across runs`,
    '',
    '| variant (server mini) | init median ms | added vs direct ms | MiB/s | MiB/s per run, min–max | ×direct |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...bulk.map((b) => `| ${b.name} | ${f(b.init, 1)} | ${b === bulkDirect ? '' : signed(b.init - bulkDirect.init, 1)} | ${f(b.rate, 0)} | ${minMax(b.rates, 0)} | ${f(b.rate / bulkDirect.rate, 2)} |`),
    '',
  ];
  const m = r.memory;
  const perSession = (m.openKiB - m.idleKiB) / m.sessions;
  out.push(
    `daemon memory: VmRSS of the daemon process, median of 5 readings 200 ms apart; sessions are \`mcpd run mini\`, initialized, then idle`,
    '',
    `| daemon idle MiB | with ${m.sessions} idle sessions MiB | per open session KiB | after closing them MiB | after all rounds MiB (VmHWM) |`,
    '| ---: | ---: | ---: | ---: | ---: |',
    `| ${mib(m.idleKiB)} | ${mib(m.openKiB)} | ${f(perSession, 0)} | ${mib(m.closedKiB)} | ${mib(r.after.rssKiB)} (${mib(r.after.hwmKiB)}) |`,
    '',
  );

  const noDaemon = row(NO_DAEMON);
  const daemon = row(DAEMON);
  const relays = row(RELAYS);
  const client = row(CLIENT);
  const hop = row(SOCKET_HOP);
  const rateOf = (name: string) => bulk.find((b) => b.name === name)!.rate;
  const lines = [
    verdict('a', 'mcpd run --no-daemon\'s added time-to-initialize', 'at most', noDaemon.initMed - direct.initMed, floor + T.noDaemonStartMs, MS,
      `budget node -e 0 ${f(floor, 1)} ms + ${T.noDaemonStartMs} ms; direct ${f(direct.initMed, 1)} ms`),
    verdict('b', 'mcpd run --no-daemon ping p50, ×direct', 'at most', noDaemon.p50 / direct.p50, T.noDaemonPingRatio, RATIO, `${f(noDaemon.p50, 0)} µs, direct ${f(direct.p50, 0)} µs`),
    verdict('c', 'mcpd run (daemon)\'s added time-to-initialize', 'at most', daemon.initMed - direct.initMed, floor + T.daemonStartMs, MS,
      `budget node -e 0 ${f(floor, 1)} ms + ${T.daemonStartMs} ms`),
    verdict('d', 'mcpd run (daemon) ping p50 over the two bare relays\'', 'at most', daemon.p50 - relays.p50, T.daemonOwnPingUs, US,
      `${f(daemon.p50, 0)} µs against ${f(relays.p50, 0)} µs; over direct ${signed(daemon.p50 - direct.p50, 0)} µs, of which the relays' ${signed(relays.p50 - direct.p50, 0)} µs`),
    verdict('e', 'mcpd run (daemon) pipelined pings/s, ×direct', 'at least', daemon.rate / direct.rate, T.daemonPipelinedRatio, RATIO,
      `${f(daemon.rate, 0)} against ${f(direct.rate, 0)}; the two bare relays ×${f(relays.rate / direct.rate, 2)}`),
    verdict('f', 'mcpd run (daemon) bulk MiB/s, × the two bare relays\'', 'at least', rateOf(DAEMON) / rateOf(RELAYS), T.daemonBulkOfRelays, RATIO,
      `${f(rateOf(DAEMON), 0)} against ${f(rateOf(RELAYS), 0)} MiB/s; ×direct ${f(rateOf(DAEMON) / bulkDirect.rate, 2)}, the relays alone ×${f(rateOf(RELAYS) / bulkDirect.rate, 2)}`),
    verdict('g', 'daemon memory per idle session, KiB', 'at most', perSession, T.sessionKiB, { digits: 0, suffix: ' KiB' }, `(${mib(m.openKiB)} − ${mib(m.idleKiB)} MiB) / ${m.sessions}`),
    verdict('h', 'mcpd/client ping p50 over direct', 'at most', client.p50 - direct.p50, T.clientPingUs, US,
      `${f(client.p50, 0)} µs against ${f(direct.p50, 0)} µs; a bare socket hop ${signed(hop.p50 - direct.p50, 0)} µs, parsed ${signed(row(SOCKET_HOP_PARSED).p50 - direct.p50, 0)} µs`),
    verdict('i', 'mcpd/client bulk MiB/s, ×direct', 'at least', rateOf(CLIENT) / bulkDirect.rate, T.clientBulkRatio, RATIO,
      `${f(rateOf(CLIENT), 0)} against ${f(bulkDirect.rate, 0)} MiB/s; the floor, a bare socket hop parsed as a transport must, ×${f(rateOf(SOCKET_HOP_PARSED) / bulkDirect.rate, 2)}: the hop alone ×${f(rateOf(SOCKET_HOP) / bulkDirect.rate, 2)}, the parse alone (direct, parsed) ×${f(rateOf(DIRECT_PARSED) / bulkDirect.rate, 2)}`),
    `    mcpd/client over that floor: bulk ×${f(rateOf(CLIENT) / rateOf(SOCKET_HOP_PARSED), 2)}, ping ${signed(client.p50 - row(SOCKET_HOP_PARSED).p50, 0)} µs; against the SDK's stdio transport (a TypeScript host without mcpd) ping ${signed(client.p50 - row(DIRECT_SDK).p50, 0)} µs, pipelined ×${f(client.rate / row(DIRECT_SDK).rate, 2)} (that transport refuses a message over 10 MiB, so it has no bulk row)`,
    `(j) mcpd/client pipelined pings/s: ×${f(client.rate / direct.rate, 2)} direct (${f(client.rate, 0)} against ${f(direct.rate, 0)}; no target; a bare socket hop ×${f(hop.rate / direct.rate, 2)})`,
  ];
  return `${[...out, ...lines].join('\n')}\n`;
}
