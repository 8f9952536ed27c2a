/**
 * `mcpd doctor [--json]`: is everything mcpd needs in order, and what to do where it is not.
 * It checks the config, that every reference resolves (grouped by provider, so an unreachable
 * or unauthenticated backend shows once), the OS keychain, that host apps can find `mcpd`, the
 * daemon (its version, a refused config edit, listeners, failed servers), that each url server
 * answers as MCP (doctor-remote.ts), rotation (overdue
 * secrets), and the service units. It prints names and references, never a value, and exits 1
 * when a check fails.
 */
import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { asMcpdError } from '../../core/errors.js';
import { configPath } from '../../core/paths.js';
import { checkSocketPath } from '../../core/socket-trust.js';
import { checkReferences, type Finding } from '../../providers/check.js';
import { keychainAnswers } from '../../providers/keychain.js';
import type { LoadedConfig } from '../../daemon/config/load.js';
import { referenceUses } from '../../daemon/config/references.js';
import type { RotationStatus } from '../../daemon/rotation/scheduler.js';
import { answers } from '../../core/socket-probe.js';
import { type GlobalOptions, openConfig, openRegistry, output, type DaemonOptions } from '../context.js';
import { control, daemonSocket } from '../../connect/daemon.js';
import { planService } from './service.js';
import { remoteChecks } from './doctor-remote.js';
import { mcpdVersion as version } from '../version.js';

export interface Check {
  /** What was checked: `config`, `provider vault`, `daemon`, `server github`, `rotation github/pat`, … */
  readonly subject: string;
  readonly status: 'ok' | 'warn' | 'fail' | 'info';
  readonly message: string;
  readonly fix?: string;
  /** The reference a failed provider check is about (`${secret:github/pat}`). */
  readonly reference?: string;
}

const MARK: Record<Check['status'], string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', info: '-   ' };

export async function doctor(options: DaemonOptions): Promise<void> {
  const checks: Check[] = [];
  const loaded = await configCheck(options, checks);
  if (loaded) checks.push(...await failsAs('references', referenceChecks(loaded, options)));
  if (loaded) checks.push(...await failsAs('remote servers', remoteChecks(loaded, options)));
  checks.push(await keychainCheck());
  checks.push(await commandCheck(process.env.PATH ?? ''));
  const failingHere = loaded ? new Set(checks.filter((c) => c.status === 'fail' && c.reference).map((c) => c.reference!)) : undefined;
  checks.push(...await failsAs('daemon', daemonChecks(options, failingHere)));
  checks.push(...await serviceChecks(options));
  output(options, checks, () => {
    const failed = checks.filter((c) => c.status === 'fail').length;
    const warned = checks.filter((c) => c.status === 'warn').length;
    return [
      ...checks.map((c) => `${MARK[c.status]}  ${c.subject}: ${c.message}${c.fix ? `\n      fix: ${c.fix}` : ''}`),
      failed || warned ? `${failed} failed, ${warned} warning(s)` : 'everything is in order',
    ].join('\n');
  });
  if (checks.some((c) => c.status === 'fail')) process.exitCode = 1;
}

async function configCheck(options: GlobalOptions, checks: Check[]): Promise<LoadedConfig | undefined> {
  try {
    const loaded = await openConfig(options, true);
    const servers = Object.keys(loaded.config.mcpServers).length;
    checks.push({ subject: 'config', status: 'ok', message: `${loaded.path}: ${servers} server(s), ${Object.keys(loaded.config.providers).length} configured provider(s)` });
    return loaded;
  } catch (error) {
    const e = asMcpdError(error, 'reading the config');
    checks.push({ subject: 'config', status: 'fail', message: e.message, fix: e.hint ?? `fix ${configPath(process.env, options.config)}, then mcpd config check` });
    return undefined;
  }
}

/** One check per provider the servers use: all its references resolve, or each that does not. */
async function referenceChecks(loaded: LoadedConfig, options: GlobalOptions): Promise<Check[]> {
  const registry = openRegistry(loaded, options);
  let findings: Finding[];
  try {
    findings = await checkReferences(referenceUses(loaded.config), registry);
  } finally {
    await registry.close();
  }
  const checks: Check[] = [];
  for (const provider of [...new Set(findings.map((f) => f.provider))]) {
    const mine = findings.filter((f) => f.provider === provider);
    const failing = mine.filter((f) => !f.ok);
    if (failing.length === 0) checks.push({ subject: `provider ${provider}`, status: 'ok', message: `${mine.length} reference(s) resolve` });
    for (const f of failing) {
      checks.push({ subject: `provider ${provider}`, status: 'fail', message: `${f.reference} (used by ${f.servers.join(', ')}): ${f.error?.message ?? 'does not resolve'}`, ...(f.error?.hint ? { fix: f.error.hint } : {}), reference: f.reference });
    }
  }
  const used = new Set(findings.map((f) => f.provider));
  for (const name of Object.keys(loaded.config.providers).filter((p) => !used.has(p))) {
    checks.push({ subject: `provider ${name}`, status: 'info', message: 'no server uses it, so it was not asked' });
  }
  if (findings.length === 0) checks.push({ subject: 'references', status: 'info', message: 'the config uses no references' });
  return checks;
}

async function keychainCheck(): Promise<Check> {
  if (await keychainAnswers()) return { subject: 'keychain', status: 'ok', message: 'the OS keychain answers; secret: references use it' };
  return {
    subject: 'keychain', status: 'info',
    message: 'the OS keychain does not answer; secret: references use the local encrypted store',
    fix: 'on Linux, a Secret Service (gnome-keyring, KeePassXC) on the D-Bus session bus; nothing is needed to keep using the local store',
  };
}

/** Host apps run `"command": "mcpd"` (what mcpd migrate writes): it must be found on PATH. */
async function commandCheck(path: string): Promise<Check> {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, process.platform === 'win32' ? 'mcpd.cmd' : 'mcpd');
    if (await access(candidate, constants.X_OK).then(() => true, () => false)) return { subject: 'command', status: 'ok', message: `mcpd is on PATH: ${candidate}` };
  }
  return {
    subject: 'command', status: 'warn',
    message: 'no mcpd on PATH: a host app whose entry says "command": "mcpd" will not find it',
    fix: 'install it globally (npm install -g), or write the absolute path of the mcpd command in the host app\'s "command"',
  };
}

/** `failingHere`: references that already failed in this process, not to be reported twice; undefined when it could not check them. */
async function daemonChecks(options: DaemonOptions, failingHere: ReadonlySet<string> | undefined): Promise<Check[]> {
  const path = daemonSocket(options);
  const unsafe = await checkSocketPath(path).then(() => undefined, (error: unknown) => asMcpdError(error, 'the socket path'));
  if (unsafe) return [{ subject: 'daemon', status: 'fail', message: unsafe.message, fix: unsafe.hint }];
  if (!(await answers(path))) {
    return [
      { subject: 'daemon', status: 'info', message: `no daemon answers on ${path}; the first mcpd run starts one` },
      { subject: 'rotation', status: 'info', message: 'not checked: the daemon keeps the schedules', fix: 'mcpd start, then mcpd doctor again' },
    ];
  }
  const status = await control(options, 'status');
  const checks: Check[] = [{ subject: 'daemon', status: 'ok', message: `pid ${status.pid} on ${status.socket}, version ${status.version}` }];
  if (status.version !== version()) {
    checks.push({ subject: 'daemon', status: 'warn', message: `it runs mcpd ${status.version}, this command is ${version()}`, fix: 'mcpd stop (the next mcpd run starts the new one)' });
  }
  if (status.configError) checks.push({ subject: 'daemon', status: 'fail', message: `it refused the last config edit and runs the one before: ${status.configError}`, fix: 'fix the config (mcpd config check), then mcpd reload' });
  if (status.atNextStart.length) checks.push({ subject: 'daemon', status: 'warn', message: `${status.atNextStart.join(', ')} changed since it started and applies only when it starts again`, fix: 'mcpd stop, then mcpd start' });
  for (const failure of status.listenerFailures) checks.push({ subject: 'daemon', status: 'fail', message: `not listening: ${failure}`, fix: 'fix or remove that entry of socket.listen, then mcpd reload' });
  // The daemon resolves in its own environment (the first mcpd run's, or systemd's): a
  // reference that resolves here may not resolve there.
  const theirs = await control(options, 'secrets.check').catch((error: unknown) => {
    checks.push({ subject: 'daemon', status: 'info', message: `how the daemon resolves the references was not checked: ${asMcpdError(error, 'secrets.check').message}` });
    return [];
  });
  for (const f of theirs.filter((x) => !x.ok && !failingHere?.has(x.reference))) {
    checks.push({
      subject: `provider ${f.provider}`, status: 'fail',
      message: `the daemon cannot resolve ${f.reference} (used by ${f.servers.join(', ')})${failingHere ? ', though this shell can' : ''}: ${f.error?.message ?? 'it does not resolve'}`,
      fix: 'the daemon resolves in the environment it was started from: mcpd stop, then start it again where that is set (or set it in the service\'s environment)',
    });
  }
  for (const server of status.servers.filter((s) => s.state === 'failed')) {
    checks.push({ subject: `server ${server.name}`, status: 'fail', message: `failed: ${server.lastError ?? 'it kept crashing'}`, fix: `mcpd logs ${server.name} shows its stderr; after the fix, mcpd restart ${server.name}` });
  }
  return [...checks, ...rotationChecks(await control(options, 'rotation.status'))];
}

function rotationChecks(rotations: readonly RotationStatus[]): Check[] {
  if (rotations.length === 0) return [{ subject: 'rotation', status: 'info', message: 'no secrets under "rotation" in the config' }];
  return rotations.map((r): Check => {
    const subject = `rotation ${r.name}`;
    // A remind secret is rotated by the user: mcpd only records that it was.
    const byHand = `rotate it upstream, mcpd secret set ${r.name}, then mcpd rotate ${r.name} --now`;
    if (r.lastError) return { subject, status: 'fail', message: `its last attempt failed: ${r.lastError}`, fix: `mcpd rotation status; mcpd rotate ${r.name} --now to try again` };
    if (r.overdue) return { subject, status: 'warn', message: `overdue: last rotated ${r.last} (${r.ageDays} days ago)`, fix: r.strategy === 'remind' ? byHand : `mcpd rotate ${r.name} --now` };
    if (r.state === 'warning') return { subject, status: 'warn', message: `due ${r.next}`, fix: byHand };
    return { subject, status: 'ok', message: `${r.state}, next ${r.next}` };
  });
}

/** Whether the service units are installed, and as `mcpd service install` would write them now. */
async function serviceChecks(options: GlobalOptions): Promise<Check[]> {
  let plan;
  try {
    plan = await planService(process.platform, process.env, options);
  } catch {
    return []; // a platform with no service manager mcpd knows
  }
  const found = await Promise.all(plan.files.map(async (f) => ({ ...f, installed: await readFile(f.path, 'utf8').catch(() => undefined) })));
  const paths = found.map((f) => f.path).join(', ');
  if (found.every((f) => f.installed === undefined)) {
    return [{ subject: 'service', status: 'info', message: `no ${plan.manager} units installed (optional: mcpd run starts the daemon when none answers)`, fix: 'mcpd service install' }];
  }
  if (found.some((f) => f.installed !== f.content)) {
    return [{ subject: 'service', status: 'warn', message: `the installed ${plan.manager} units (${paths}) differ from what this installation would write (node or mcpd moved?)`, fix: 'mcpd service install --dry-run shows the difference; mcpd service install rewrites them' }];
  }
  return [{ subject: 'service', status: 'ok', message: `${plan.manager} units installed: ${paths}` }];
}

/** The checks, or one failed check saying why they could not be made (a token without status:read, say). */
async function failsAs(subject: string, checks: Promise<Check[]>): Promise<Check[]> {
  try {
    return await checks;
  } catch (error) {
    const e = asMcpdError(error, `checking the ${subject}`);
    return [{ subject, status: 'fail', message: e.message, ...(e.hint ? { fix: e.hint } : {}) }];
  }
}
