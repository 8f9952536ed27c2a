/**
 * `mcpd migrate [--from HOST | --file PATH] [--dry-run]` and `mcpd migrate --undo …`: takes the
 * servers out of a host app's MCP config into mcpd's, moves each literal secret of their
 * environment (or a remote server's headers) into the default store (a reference takes its
 * place), and points the host's entry at `mcpd run NAME`.
 *
 * Nothing is lost on the way. Every write comes after its input is known good, in this order:
 * the host file's old text, kept encrypted in the local store (a plain backup would leave the
 * secrets on disk); the secrets; mcpd's config; last, the host file. Both files are edited in
 * place (comments and the rest kept) and written atomically, the host file only if it is still
 * the text read. `--undo` writes the old text back, or only mcpd's entries once the host app
 * has saved the file since (migrate/backup.ts).
 */
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { McpdError } from '../../core/errors.js';
import { parseConfig, parseJson, requireJsonc } from '../../daemon/config/load.js';
import type { ProviderRegistry } from '../../providers/registry.js';
import { type GlobalOptions, openConfig, openRegistry, output } from '../context.js';
import { HOST_NAMES, type HostFile, type HostName, hostFile } from '../migrate/hosts.js';
import { type Backup, decodeBackup, encodeBackup, type ReplacedEntry, sha256, type Undone, undoText } from '../migrate/backup.js';
import { type ServerPlan, planServers } from '../migrate/plan.js';
import { parseCliRef } from './secret.js';

export interface MigrateOptions extends GlobalOptions {
  from?: string;
  file?: string;
  dryRun?: boolean;
  undo?: boolean;
}

type Move = Extract<ServerPlan, { action: 'migrate' }>;
type Skip = Extract<ServerPlan, { action: 'skip' }>;
/** A plan as printed: where each secret goes, never its value. */
type Printed = (Skip | { readonly name: string; readonly action: 'migrate'; readonly alreadyInMcpd: boolean; readonly secrets: readonly string[]; readonly kept: Move['kept'] }) & { readonly table?: string };
interface HostReport { readonly host: string; readonly file: string; readonly servers: readonly Printed[] }

const FORMAT = { insertSpaces: true, tabSize: 2, eol: '\n' };

export async function migrate(options: MigrateOptions): Promise<void> {
  const targets = await chooseHosts(options);
  const loaded = await openConfig(options, false);
  const registry = openRegistry(loaded, options);
  try {
    if (options.undo) {
      // Without --from or --file: every host file mcpd changed, and only those.
      const named = options.from !== undefined || options.file !== undefined;
      let restored = 0;
      for (const target of targets) restored += (await undo(target, registry, options, named)) ? 1 : 0;
      if (restored === 0) throw new McpdError('NOT_FOUND', `mcpd keeps no copy of ${targets.map((t) => t.path).join(', ')} from before a migration`, { hint: 'mcpd migrate --undo puts back only a file that mcpd migrate changed' });
      return;
    }
    const reports: HostReport[] = [];
    for (const target of targets) reports.push(await migrateHost(target, loaded.path, registry, options));
    output(options, reports, () => describe(reports, options));
  } finally {
    await registry.close();
  }
}

/** --file, else --from, else every host app whose config file exists. */
async function chooseHosts(options: MigrateOptions): Promise<HostFile[]> {
  if (options.file !== undefined) return [{ host: 'file', path: resolve(options.file), key: undefined }];
  if (options.from !== undefined) {
    if (!(HOST_NAMES as readonly string[]).includes(options.from)) {
      throw new McpdError('USAGE', `--from "${options.from}" is not a host app mcpd knows; known: ${HOST_NAMES.join(', ')}`, { hint: 'or point at the file itself with --file PATH' });
    }
    return [hostFile(options.from as HostName, process.env)];
  }
  const found = [];
  for (const host of HOST_NAMES) {
    const file = hostFile(host, process.env);
    if (await stat(file.path).then(() => true, () => false)) found.push(file);
  }
  if (found.length === 0) {
    throw new McpdError('NOT_FOUND', `no host app's MCP config was found; looked for ${HOST_NAMES.map((h) => hostFile(h, process.env).path).join(', ')}`, {
      hint: 'name one with --from HOST, or give its path with --file PATH',
    });
  }
  return found;
}

/** `mcpdPath`: mcpd's config file, read afresh for each host (the one before may have written it). */
async function migrateHost(target: HostFile, mcpdPath: string, registry: ProviderRegistry, options: MigrateOptions): Promise<HostReport> {
  const jsonc = requireJsonc();
  const hostText = await readHost(target.path);
  const host = asObject(parseJson(hostText, target.path, 'fix the JSON there, then migrate again', true));
  const mcpdText = await readFile(mcpdPath, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '{}\n';
    throw new McpdError('CONFIG_NOT_FOUND', `cannot read mcpd's config ${mcpdPath}: ${error.code ?? String(error)}`, { hint: 'check that file\'s permissions' });
  });
  parseConfig(mcpdText, mcpdPath); // an mcpd config that is already broken is fixed first, not added to
  const mine = { ...(parseJson(mcpdText, mcpdPath, '') as { mcpServers?: Record<string, unknown> }).mcpServers };
  // Planned table by table: a server an earlier table moves is in mcpd's config for the next ones.
  const pending = new Map<string, string>();
  const plans: Array<{ table: Table; plan: ServerPlan }> = [];
  for (const table of tablesOf(target, host)) {
    for (const planned of planServers(table.entries, mine)) {
      const plan = await checkStored(planned, registry, pending);
      plans.push({ table, plan });
      if (plan.action !== 'migrate') continue;
      mine[plan.name] = plan.definition;
      for (const s of plan.secrets) pending.set(s.ref, s.value);
    }
  }
  const moving = plans.filter((p): p is { table: Table; plan: Move } => p.plan.action === 'migrate');
  const report: HostReport = { host: target.host, file: target.path, servers: plans.map(({ table, plan }) => printable(plan, table.label)) };
  if (options.dryRun || moving.length === 0) return report;

  let newMcpd = mcpdText;
  let newHost = hostText;
  const entries: ReplacedEntry[] = [];
  // A server or secret an earlier table moved is planned as already in mcpd (alreadyInMcpd, stored): written once.
  for (const { table, plan } of moving) {
    if (!plan.alreadyInMcpd) newMcpd = jsonc.applyEdits(newMcpd, jsonc.modify(newMcpd, ['mcpServers', plan.name], plan.definition, { formattingOptions: FORMAT }));
    newHost = jsonc.applyEdits(newHost, jsonc.modify(newHost, [...table.path, plan.name], { command: 'mcpd', args: ['run', plan.name] }, { formattingOptions: FORMAT }));
    entries.push({ path: [...table.path, plan.name], original: table.entries[plan.name] });
  }
  parseConfig(newMcpd, mcpdPath); // what is about to be written is a config mcpd takes
  const read = sha256(hostText);
  await checkUnchanged(target.path, read, 'mcpd migrate');
  await mkdir(dirname(mcpdPath), { recursive: true, mode: 0o700 });
  const previous = await keptBackup(target, registry);
  await store(registry, backupRef(target), encodeBackup({ before: hostText, wrote: sha256(newHost), entries }, previous));
  for (const { plan } of moving) {
    for (const secret of plan.secrets.filter((s) => !s.stored)) await store(registry, secret.ref, secret.value);
  }
  await writeAtomic(mcpdPath, newMcpd, 0o600);
  // The host app may have saved its file while the store was asked: writing from the text read would drop that.
  await checkUnchanged(target.path, read, 'mcpd migrate', 'mcpd\'s config and the store already hold the servers moved so far: run mcpd migrate again, which reads the file afresh and finishes the move');
  await writeAtomic(target.path, newHost, (await stat(target.path)).mode & 0o777);
  return report;
}

/**
 * Refuses to write `path` when its text is no longer the one read (hash `read`): the host app
 * saved it in between, and writing would drop what it saved.
 */
async function checkUnchanged(path: string, read: string | undefined, verb: string, hint = `run ${verb} again: it reads the file afresh`): Promise<void> {
  const now = await readFile(path, 'utf8').then(sha256, () => undefined);
  if (now === read) return;
  throw new McpdError('FILE_CHANGED', `${path} changed while ${verb} was working on it (the host app saved it?): it was not written`, { hint });
}

/** The backup an earlier migration of `target` left, if any. */
async function keptBackup(target: HostFile, registry: ProviderRegistry): Promise<Backup | undefined> {
  const ref = parseCliRef(backupRef(target));
  const [kept] = await (await registry.get(ref.provider)).resolve([ref]);
  return !kept || kept instanceof McpdError ? undefined : decodeBackup(kept.value);
}

/**
 * Puts `target` back from its kept copy; false when there is none (an error when it was `named`).
 * A file the host app saved since migrate wrote it gets back only the entries mcpd replaced.
 */
async function undo(target: HostFile, registry: ProviderRegistry, options: MigrateOptions, named: boolean): Promise<boolean> {
  const backup = await keptBackup(target, registry);
  if (!backup) {
    if (!named) return false;
    throw new McpdError('NOT_FOUND', `mcpd keeps no copy of ${target.path} from before a migration`, { hint: 'mcpd migrate --undo puts back only a file that mcpd migrate changed' });
  }
  const current = await readFile(target.path, 'utf8').catch(() => undefined);
  const undone = current === undefined ? { text: backup.before, whole: true, restored: [], changed: [] } : undoText(backup, current);
  if (!options.dryRun) {
    await checkUnchanged(target.path, current === undefined ? undefined : sha256(current), 'mcpd migrate --undo');
    await writeAtomic(target.path, undone.text, (await stat(target.path).catch(() => undefined))?.mode ?? 0o600);
  }
  output(options, { host: target.host, file: target.path, restored: !options.dryRun, whole: undone.whole, entries: undone.restored, changed: undone.changed }, () => describeUndo(target.path, undone, options.dryRun === true));
  return true;
}

function describeUndo(path: string, undone: Undone, dryRun: boolean): string {
  const left = 'mcpd\'s config and the stored secrets are left as they are';
  if (undone.whole) return `${dryRun ? 'would put back' : 'put back'} ${path} as it was before mcpd migrate; ${left}`;
  const lines = [undone.restored.length === 0
    ? `${path} changed since mcpd migrate wrote it, and no entry still runs through mcpd: nothing to put back`
    : `${path} changed since mcpd migrate wrote it: ${dryRun ? 'would put back' : 'put back'} only the entries mcpd replaced (${undone.restored.join(', ')}), the rest kept as the host app saved it; ${left}`];
  for (const name of undone.changed) lines.push(`  ${name}: left as it is: the host app changed or removed it since`);
  return lines.join('\n');
}

/**
 * A secret's reference may already hold a value (a server migrated from another host app, a
 * secret set by hand): the same value need not be stored again, and a different one is not
 * overwritten; that server is left as it is.
 */
async function checkStored(plan: ServerPlan, registry: ProviderRegistry, pending: ReadonlyMap<string, string>): Promise<ServerPlan> {
  if (plan.action === 'skip' || plan.secrets.length === 0) return plan;
  const refs = plan.secrets.map((s) => parseCliRef(s.ref));
  const found = await (await registry.get(refs[0]!.provider)).resolve(refs);
  // What this run is about to store counts as held: a second server must not overwrite it.
  const held = found.map((f, i) => pending.get(plan.secrets[i]!.ref) ?? (f === undefined || f instanceof McpdError ? undefined : f.value));
  const differs = plan.secrets.find((s, i) => held[i] !== undefined && held[i] !== s.value);
  const secrets = plan.secrets.map((s, i) => ({ ...s, stored: held[i] === s.value }));
  if (differs) return { name: plan.name, action: 'skip', reason: `\${${differs.ref}} already holds a different value: mcpd does not overwrite it; give the server another name, or remove that secret, then migrate again` };
  return { ...plan, secrets };
}

/** Where the host file's text from before the migration is kept: in the local store, encrypted. */
function backupRef(target: HostFile): string {
  return `local:mcpd-migrate/${sha256(target.path).slice(0, 16)}`;
}

async function store(registry: ProviderRegistry, text: string, value: string): Promise<void> {
  const ref = parseCliRef(text);
  await (await registry.get(ref.provider)).store!(ref, value);
}

function asObject(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : {};
}

async function readHost(path: string): Promise<string> {
  return readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new McpdError('NOT_FOUND', `cannot read ${path}: ${error.code ?? String(error)}`, { hint: 'check the path (or the host app: it writes that file once a server is added)' });
  });
}

async function writeAtomic(path: string, text: string, mode: number): Promise<void> {
  const { default: writeFileAtomic } = await import('write-file-atomic');
  await writeFileAtomic(path, text, { mode, fsync: true });
}

/** A plan without the values: what `--json` prints. */
function printable(plan: ServerPlan, table: string | undefined): Printed {
  const where = table === undefined ? {} : { table };
  if (plan.action === 'skip') return { ...plan, ...where };
  return { name: plan.name, ...where, action: plan.action, alreadyInMcpd: plan.alreadyInMcpd, secrets: plan.secrets.map((s) => `${s.variable} → \${${s.ref}}`), kept: plan.kept };
}

interface Table { readonly path: string[]; readonly label: string | undefined; readonly entries: Record<string, unknown> }

/** A host file's server tables: the top-level one and, for Claude Code, each project's (where `claude mcp add` puts servers by default). */
function tablesOf(target: HostFile, host: Record<string, unknown>): Table[] {
  const key = target.key ?? ('servers' in host && !('mcpServers' in host) ? 'servers' : 'mcpServers');
  const tables: Table[] = [{ path: [key], label: undefined, entries: asObject(host[key]) }];
  if (target.host !== 'claude-code') return tables;
  for (const [project, settings] of Object.entries(asObject(host.projects))) {
    const entries = asObject(asObject(settings).mcpServers);
    if (Object.keys(entries).length) tables.push({ path: ['projects', project, 'mcpServers'], label: `project ${project}`, entries });
  }
  return tables;
}

function describe(reports: readonly HostReport[], options: MigrateOptions): string {
  const would = options.dryRun ? 'would move' : 'moved';
  const lines: string[] = [];
  for (const report of reports) {
    lines.push(`${report.host === 'file' ? report.file : `${report.host} (${report.file})`}:`);
    for (const server of report.servers) {
      const name = server.table ? `${server.name} (${server.table})` : server.name;
      if (server.action === 'skip') lines.push(`  ${name}: left as it is: ${server.reason}`);
      else {
        const secrets = server.secrets.length ? `; ${server.secrets.join(', ')}` : '; no secrets in its environment';
        lines.push(`  ${name}: ${would} to mcpd${server.alreadyInMcpd ? ' (already in its config)' : ''}${secrets}`);
        // Every literal left in the config, with why, so a secret mcpd did not recognise is seen.
        for (const { variable, why } of server.kept) lines.push(`    ${variable} kept as written: ${why}`);
      }
    }
    if (report.servers.length === 0) lines.push('  no servers');
  }
  const moved = reports.flatMap((r) => r.servers).filter((s) => s.action === 'migrate').length;
  if (options.dryRun) lines.push('(dry run: nothing was written)');
  else if (moved > 0) lines.push('each moved entry now runs "mcpd run NAME"; restart the host app to pick that up. mcpd migrate --undo puts the old file back');
  return lines.join('\n');
}
