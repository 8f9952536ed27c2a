/**
 * The `cacheTtl` setting that backends worth sparing (over the network, rate-limited, slow to
 * ask) add to their settings; registry.ts reads it to size the daemon's cache (cache.ts). Its own
 * module so that registry.ts, on the path of every CLI verb, does not load zod.
 */
import { duration } from '../core/duration.js';

export const cacheable = { cacheTtl: duration.optional() };
