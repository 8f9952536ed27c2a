/**
 * `mcpd service install`: the systemd user units (Linux) or the launchd agent (macOS), made from
 * the templates in systemd/ by filling in this installation's absolute paths. It runs neither
 * systemctl nor launchctl: enabling a service is the user's decision, so it prints the command.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { McpdError } from '../../core/errors.js';
import { type Env, configPath, dataDir, stateDir } from '../../core/paths.js';
import { type GlobalOptions, output } from '../context.js';
import { cliEntry } from '../../connect/entry.js';

export interface ServiceOptions extends GlobalOptions {
  dryRun?: boolean;
}

export interface ServicePlan {
  manager: 'systemd' | 'launchd';
  files: { path: string; content: string }[];
  /** Folders the daemon writes, made beforehand: under ProtectSystem=strict it could not make them. */
  dirs: string[];
  next: string[];
}

const templates = fileURLToPath(new URL('../../../systemd/', import.meta.url));
const LABEL = 'com.mcpd.daemon';

/** Writes the unit files (or, with --dry-run, only shows them) and prints the next step. */
export async function install(options: ServiceOptions): Promise<void> {
  const plan = await planService(process.platform, process.env, options);
  if (!options.dryRun) await apply(plan);
  output(options, { dryRun: Boolean(options.dryRun), ...plan }, () => [
    ...plan.files.map((f) => (options.dryRun ? `would write ${f.path}:\n${f.content}` : `wrote ${f.path}`)),
    ...plan.next.map((line) => `next: ${line}`),
    ...(options.dryRun ? ['(dry run: nothing was written)'] : []),
  ].join('\n'));
}

/** What `install` would write for `platform`; reads the templates, writes nothing. */
export async function planService(platform: NodeJS.Platform, env: Env, flags: GlobalOptions = {}): Promise<ServicePlan> {
  const home = env.HOME || homedir();
  const node = process.execPath;
  // A node from nvm or fnm is not on a service manager's PATH, yet npx's `#!/usr/bin/env node` needs one.
  const path = [dirname(node), ...(env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':')].filter((d, i, all) => d && all.indexOf(d) === i).join(':');
  const values = { NODE: node, MCPD: cliEntry, CONFIG: resolve(configPath(env, flags.config)), PATH: path };
  // The units serve the default socket; a client told to use another would not find the service.
  const socket = flags.socket ?? env.MCPD_SOCKET;
  const moved = socket ? [`the service listens on mcpd's default socket, not on ${socket}: unset MCPD_SOCKET (or drop --socket) where host apps run mcpd`] : [];
  if (platform === 'linux') {
    const dir = join(env.XDG_CONFIG_HOME?.startsWith('/') ? env.XDG_CONFIG_HOME : join(home, '.config'), 'systemd', 'user');
    const linux = { ...values, XDG_DATA_HOME: dirname(dataDir(env)), XDG_STATE_HOME: dirname(stateDir(env)) };
    return {
      manager: 'systemd',
      files: await Promise.all(['mcpd.socket', 'mcpd.service'].map(async (name) => ({ path: join(dir, name), content: fill(name, await template(name), linux, systemdWord) }))),
      dirs: [dataDir(env), stateDir(env)],
      next: [...moved, 'stop a daemon started by hand first (mcpd stop), then', 'systemctl --user daemon-reload && systemctl --user enable --now mcpd.socket'],
    };
  }
  if (platform === 'darwin') {
    const plist = join(home, 'Library', 'LaunchAgents', `${LABEL}.plist`);
    const name = `${LABEL}.plist`;
    return {
      manager: 'launchd',
      files: [{ path: plist, content: fill(name, await template(name), { ...values, STATE_DIR: stateDir(env) }, xmlText) }],
      dirs: [dataDir(env), stateDir(env)],
      next: [...moved, 'stop a daemon started by hand first (mcpd stop), then', `launchctl bootstrap gui/$(id -u) ${shellWord(plist)}`],
    };
  }
  throw new McpdError('USAGE', `mcpd service install knows systemd (Linux) and launchd (macOS), not ${platform}`, {
    hint: 'start the daemon at login another way, with mcpd start (mcpd run also starts one when none answers)',
  });
}

async function apply(plan: ServicePlan): Promise<void> {
  const fail = (path: string) => (error: unknown) => { throw unwritable(path, error); };
  for (const dir of plan.dirs) {
    // Only mcpd's own folder is private; parents such as ~/.local keep the usual mode.
    await mkdir(dirname(dir), { recursive: true }).catch(fail(dirname(dir)));
    await mkdir(dir, { recursive: true, mode: 0o700 }).catch(fail(dir));
  }
  for (const file of plan.files) {
    await mkdir(dirname(file.path), { recursive: true }).catch(fail(dirname(file.path)));
    await writeFile(file.path, file.content, { mode: 0o644 }).catch(fail(file.path));
  }
}

function unwritable(path: string, error: unknown): McpdError {
  const code = (error as NodeJS.ErrnoException).code ?? String(error);
  return new McpdError('USAGE', `cannot write ${path} (${code})`, {
    hint: 'make that folder yours and writable, or see what would be written with mcpd service install --dry-run',
    cause: error,
  });
}

async function template(name: string): Promise<string> {
  const path = join(templates, name);
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new McpdError('INTERNAL', `the service template ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`, {
      hint: 'reinstall mcpd: its package ships the systemd/ folder',
      cause: error,
    });
  }
}

function fill(name: string, text: string, values: Record<string, string>, escape: (value: string, key: string) => string): string {
  return text.replace(/@([A-Z_]+)@/g, (match, key: string) => {
    const value = values[key];
    if (value === undefined) {
      throw new McpdError('INTERNAL', `the service template ${join(templates, name)} holds ${match}, which mcpd does not fill in`, {
        hint: 'reinstall mcpd: its templates and its code come from different versions',
      });
    }
    return escape(value, key);
  });
}

/** One word of a unit file: `%` is a specifier there and whitespace splits, so both are escaped. */
function systemdWord(value: string, key: string): string {
  // systemd expands $VAR in Exec lines and has no escape that also holds in Environment=.
  if (/[$\p{Cc}]/u.test(value)) {
    throw new McpdError('USAGE', `${key === 'PATH' ? 'PATH' : 'the path'} ${JSON.stringify(value)} holds a $ or a control character, which a systemd unit cannot carry`, {
      hint: key === 'PATH' ? 'run mcpd service install with a PATH without such entries' : 'move it to a path without $, or set MCPD_CONFIG / XDG_* to one',
    });
  }
  const word = value.replaceAll('%', '%%');
  return /[\s"'\\]/.test(word) ? `"${word.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"` : word;
}

function xmlText(value: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

function shellWord(value: string): string {
  return /^[\w./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}
