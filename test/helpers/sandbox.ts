/**
 * A throwaway home for one test file: its own HOME and XDG dirs, a config writer, and the
 * real `mcpd` binary run as a child process. The caller's environment does not leak in; the
 * D-Bus session (and so the keychain) is passed only when a test asks for it.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { throwawayEnv } from '../../scripts/throwaway-env.js';
import { cliMain } from './repo.js';

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface Sandbox {
  readonly dir: string;
  readonly configPath: string;
  /** The environment mcpd runs with. */
  readonly env: Record<string, string>;
  writeConfig(config: object): Promise<void>;
  cli(args: readonly string[], options?: { input?: string; env?: Record<string, string> }): Promise<CliResult>;
  cleanup(): Promise<void>;
}

export async function sandbox(options: { keychain?: boolean } = {}): Promise<Sandbox> {
  const dir = await mkdtemp(join(tmpdir(), 'mcpd-test-'));
  const home = join(dir, 'home');
  await mkdir(home, { recursive: true });
  const configPath = join(dir, 'config.json');
  // The socket is this sandbox's own: no test meets another's daemon.
  const env: Record<string, string> = throwawayEnv(home, { config: configPath, socket: join(dir, 'mcpd.sock') });
  if (options.keychain && process.env.DBUS_SESSION_BUS_ADDRESS) env.DBUS_SESSION_BUS_ADDRESS = process.env.DBUS_SESSION_BUS_ADDRESS;
  const cli: Sandbox['cli'] = async (args, run = {}) => {
    const result = await execa(process.execPath, [cliMain, ...args], {
      env: { ...env, ...run.env },
      extendEnv: false,
      input: run.input ?? '',
      reject: false,
      stripFinalNewline: false,
      timeout: 60_000,
    });
    return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
  };
  return {
    dir,
    configPath,
    env,
    writeConfig: (config) => writeFile(configPath, JSON.stringify(config, null, 2)),
    cli,
    // A daemon a test started (mcpd run autostarts one) is stopped with its servers before the files go.
    cleanup: async () => {
      await cli(['stop']);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
