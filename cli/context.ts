/**
 * What every verb starts from: the global options, the config, and the provider registry.
 */
import type { ConnectOptions } from '../connect/daemon.js';
import { configPath } from '../core/paths.js';
import type { LoadedConfig } from '../daemon/config/load.js';
import { ProviderRegistry } from '../providers/registry.js';

export interface GlobalOptions {
  config?: string;
  verbose?: boolean;
  json?: boolean;
  socket?: string;
}

/** A verb that talks to the daemon: the global options, and whether it may start one. */
export interface DaemonOptions extends GlobalOptions, ConnectOptions {}

export function resolveConfigPath(options: GlobalOptions): string {
  return configPath(process.env, options.config);
}

/** Loaded on demand: zod is not needed by verbs that only talk to the daemon (`mcpd run NAME`). */
export async function openConfig(options: GlobalOptions, required: boolean): Promise<LoadedConfig> {
  const { loadConfig } = await import('../daemon/config/load.js');
  return loadConfig(resolveConfigPath(options), { required });
}

/** `--verbose` notes go to stderr, prefixed so they are told apart from the server's own lines. */
export function noter(options: GlobalOptions): (message: string) => void {
  return options.verbose ? (message) => process.stderr.write(`mcpd: ${message}\n`) : () => {};
}

export function openRegistry(loaded: LoadedConfig, options: GlobalOptions): ProviderRegistry {
  return new ProviderRegistry(loaded.config.providers, { env: process.env, note: noter(options) });
}

/** One event (of the audit log, or the daemon's) for people: time, event, then the fields as key=value. */
export function eventLine(record: { readonly time: string; readonly event: string; readonly [field: string]: unknown }): string {
  const { time, event, ...fields } = record;
  const parts = Object.entries(fields).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return `${time} ${event} ${parts.join(' ')}`.trimEnd();
}

/** Who a session or an audit line is about, for people: the subject, its roles in brackets (`token:ci[reader]`). */
export function subjectWithRoles(subject: string, roles: readonly string[]): string {
  return `${subject}${roles.length ? `[${roles.join(',')}]` : ''}`;
}

/** Prints `value` as JSON (for --json) or as text lines. */
export function output(options: GlobalOptions, value: unknown, text: () => string): void {
  process.stdout.write(options.json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
}
