/**
 * The performance targets bench/launch and bench/gateway judge, in one place, and how a verdict
 * is printed: the figure, the bound, MET or MISSED, and by how much. Issue 15 restated the daemon
 * path's targets against the bare relays measured in the same run (bench/floor's), added
 * mcpd/client's and gave `--no-daemon` start-up node -e 0 + 60 ms; the gateway's are issue 16's;
 * the others are issues 2 and 3's.
 */
import { f, signed } from './stats.js';

export const TARGETS = {
  /** ms over node -e 0 that `mcpd run --no-daemon` may add to time-to-initialize. */
  noDaemonStartMs: 60,
  noDaemonPingRatio: 1.05,
  daemonStartMs: 30,
  /** µs a ping through the daemon may take over the same ping through the two bare relays. */
  daemonOwnPingUs: 100,
  daemonPipelinedRatio: 0.8,
  /** Bulk rate through the daemon, as a share of the two bare relays'. */
  daemonBulkOfRelays: 0.9,
  sessionKiB: 1024,
  /** µs mcpd/client's ping may take over direct's. */
  clientPingUs: 150,
  clientBulkRatio: 0.85,
  /** µs a ping through the gateway's /mcp/NAME may take over the server's own Streamable HTTP (issue 16). */
  gatewayPingUs: 400,
  gatewayPipelinedRatio: 0.8,
} as const;

/** How a figure is written: its digits and unit (a ratio is written ×N). */
export interface Unit { digits: number; suffix: string; signed?: boolean }
export const MS: Unit = { digits: 1, suffix: ' ms' };
export const US: Unit = { digits: 0, suffix: ' µs', signed: true };
export const RATIO: Unit = { digits: 2, suffix: '' };

const show = (value: number, unit: Unit) => (unit === RATIO ? `×${f(value, unit.digits)}` : `${unit.signed ? signed(value, unit.digits) : f(value, unit.digits)}${unit.suffix}`);

/**
 * One verdict line: `(id) what: figure vs bound → MET by margin (note)`. `kind` says whether the
 * figure must stay at most or reach at least the bound.
 */
export function verdict(id: string, what: string, kind: 'at most' | 'at least', figure: number, bound: number, unit: Unit, note = ''): string {
  const met = kind === 'at most' ? figure <= bound : figure >= bound;
  const margin = Math.abs(figure - bound);
  const by = unit === RATIO ? f(margin, 2) : `${f(margin, unit.digits)}${unit.suffix}`;
  return `(${id}) ${what}: ${show(figure, unit)} vs ${kind} ${show(bound, unit)} → ${met ? 'MET' : 'MISSED'} by ${by}${note ? ` (${note})` : ''}`;
}
