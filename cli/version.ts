/** mcpd's version, from its package.json (found from this file's place in dist/, bundled or not). */
import { readFileSync } from 'node:fs';

export function mcpdVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}
