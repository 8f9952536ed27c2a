/**
 * The flags the per-message benches share (launch, daemon-shares, floor): how many interleaved
 * runs, and what each run measures, with the same defaults everywhere so their figures compare.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { BulkPlan, LatencyPlan } from './measure.js';
import { count } from './stats.js';

type Options = NonNullable<ParseArgsConfig['options']>;

const SHARED = {
  runs: { type: 'string', default: '10' },
  pings: { type: 'string', default: '200' },
  warmup: { type: 'string', default: '20' },
  burst: { type: 'string', default: '2000' },
  'bulk-mib': { type: 'string', default: '10' },
  'bulk-calls': { type: 'string', default: '5' },
} as const satisfies Options;

/** The shared flags read and checked, and the script's own `extra` ones as parseArgs gives them. */
export function benchFlags<E extends Options>(extra: E) {
  const { values } = parseArgs({ options: { ...SHARED, ...extra } });
  const shared = values as Record<keyof typeof SHARED, string>;
  const latency: LatencyPlan = { pings: count(shared.pings, '--pings', 1), warmup: count(shared.warmup, '--warmup', 0), burst: count(shared.burst, '--burst', 1) };
  const bulk: BulkPlan = { bytes: count(shared['bulk-mib'], '--bulk-mib', 1) * 2 ** 20, calls: count(shared['bulk-calls'], '--bulk-calls', 1) };
  return { values: values as ReturnType<typeof parseArgs<{ options: E }>>['values'], runs: count(shared.runs, '--runs', 1), latency, bulk };
}
