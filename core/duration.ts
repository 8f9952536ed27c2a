/**
 * Durations as the config writes them (`8h`, `90d`, `30s`), read by the `ms` package. Here, not
 * in the daemon's config schema, so that a provider's settings can use them too.
 */
import ms from 'ms';
import { z } from 'zod';

/** Whether `text` is a positive duration `ms` can read. */
export function isDuration(text: string): boolean {
  // ms throws on an empty string, where it answers undefined for any other it cannot read.
  if (text === '') return false;
  const value = ms(text as ms.StringValue);
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}

/** A duration such as `8h`, `90d`, `30s`, as the `ms` package reads it. */
export const duration = z.string().refine(isDuration, { message: 'expected a duration such as "30s", "8h" or "90d"' });
