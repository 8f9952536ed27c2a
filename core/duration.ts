/**
 * Durations as the config writes them (`8h`, `90d`, `30s`), read by the `ms` package. Here, not
 * in the daemon's config schema, so that a provider's settings can use them too.
 */
import ms from 'ms';
import { z } from 'zod';

/** A duration such as `8h`, `90d`, `30s`, as the `ms` package reads it. */
export const duration = z.string().refine((text) => {
  const value = ms(text as ms.StringValue);
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}, { message: 'expected a duration such as "30s", "8h" or "90d"' });
