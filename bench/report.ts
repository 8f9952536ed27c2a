/** The tables and the targets' verdicts, as markdown-ready text. */
import { cpus, release } from 'node:os';
import type { MemorySample } from './daemon.js';
import type { BulkSample, Sample } from './measure.js';
import { f, median, quantile, signed } from './stats.js';

export const DIRECT = 'direct';
export const NO_DAEMON = 'mcpd run --no-daemon';
export const DAEMON = 'mcpd run (daemon)';

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
const verdict = (ok: boolean) => (ok ? 'MET' : 'MISSED');
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
  const bulkDaemon = bulk.find((b) => b.name === DAEMON)!;
  const addedNo = noDaemon.initMed - direct.initMed;
  const addedDaemon = daemon.initMed - direct.initMed;
  const lines = [
    `(a) mcpd run --no-daemon adds ≤ node -e 0 median + 25 ms to time-to-initialize: added ${f(addedNo, 1)} ms vs budget ${f(floor + 25, 1)} ms → ${verdict(addedNo <= floor + 25)}`,
    `(b) mcpd run --no-daemon ping p50 ≤ 1.05 × direct: ${f(noDaemon.p50, 0)} µs vs ${f(direct.p50 * 1.05, 0)} µs (direct ${f(direct.p50, 0)} µs, ×${f(noDaemon.p50 / direct.p50, 3)}) → ${verdict(noDaemon.p50 <= direct.p50 * 1.05)}`,
    `(c) mcpd run (daemon) adds ≤ node -e 0 median + 30 ms to time-to-initialize: added ${f(addedDaemon, 1)} ms vs budget ${f(floor + 30, 1)} ms → ${verdict(addedDaemon <= floor + 30)}`,
    `(d) mcpd run (daemon) ping p50 ≤ direct + 150 µs: ${f(daemon.p50, 0)} µs vs ${f(direct.p50 + 150, 0)} µs (direct ${f(direct.p50, 0)} µs, ${signed(daemon.p50 - direct.p50, 0)} µs) → ${verdict(daemon.p50 <= direct.p50 + 150)}`,
    `(e) mcpd run (daemon) pipelined pings/s ≥ 0.8 × direct: ${f(daemon.rate, 0)} vs ${f(direct.rate * 0.8, 0)} (×${f(daemon.rate / direct.rate, 2)}) → ${verdict(daemon.rate >= direct.rate * 0.8)}`,
    `(f) mcpd run (daemon) bulk MiB/s ≥ 0.8 × direct: ${f(bulkDaemon.rate, 0)} vs ${f(bulkDirect.rate * 0.8, 0)} (×${f(bulkDaemon.rate / bulkDirect.rate, 2)}) → ${verdict(bulkDaemon.rate >= bulkDirect.rate * 0.8)}`,
    `(g) daemon memory per idle session < 1024 KiB: ${f(perSession, 0)} KiB ((${mib(m.openKiB)} − ${mib(m.idleKiB)} MiB) / ${m.sessions}) → ${verdict(perSession < 1024)}`,
  ];
  return `${[...out, ...lines].join('\n')}\n`;
}
