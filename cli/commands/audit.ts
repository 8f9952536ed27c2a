/**
 * `mcpd audit [-f] [--since 1h|ISO] [--server NAME] [--subject S] [--json]`: the audit log from the state dir
 * (rotated files first), read directly: it needs no daemon, and its file is the owner's alone.
 * A line for people reads time, who (the subject, its roles in brackets), event, then fields.
 */
import ms from 'ms';
import { McpdError } from '../../core/errors.js';
import { stateDir } from '../../core/paths.js';
import type { AuditLine } from '../../daemon/audit/events.js';
import { type AuditFilter, followAudit, readAuditUpTo } from '../../daemon/audit/read.js';
import { eventLine, type GlobalOptions, subjectWithRoles } from '../context.js';

export interface AuditOptions extends GlobalOptions {
  follow?: boolean;
  since?: string;
  server?: string;
  subject?: string;
}

export async function audit(options: AuditOptions): Promise<void> {
  if (options.subject === '') throw new McpdError('USAGE', '--subject "" names no subject', { hint: 'give one as audit lines name it: owner, token:NAME, user:NAME, jwt:SUB@HOST, anonymous, mcpd or unauthenticated' });
  const filter: AuditFilter = { since: since(options.since), server: options.server, subject: options.subject };
  const dir = stateDir(process.env);
  const print = (line: AuditLine) => process.stdout.write(`${options.json ? JSON.stringify(line) : auditLine(line)}\n`);
  const { lines, end } = await readAuditUpTo(dir, filter);
  for (const line of lines) print(line);
  if (!options.follow) return;
  // From where the read ended: a line written in between is printed once, not lost.
  const stop = followAudit(dir, filter, print, undefined, end);
  await new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
  });
  stop();
}

/** One audit line for people: `TIME SUBJECT[ROLES] EVENT field=value…`; a line from before subjects were recorded shows `-`. */
export function auditLine(line: AuditLine): string {
  const { subject, roles, ...rest } = line as AuditLine & { subject?: unknown; roles?: unknown };
  const who = subjectWithRoles(typeof subject === 'string' ? subject : '-', Array.isArray(roles) ? roles as string[] : []);
  const [time, ...after] = eventLine(rest).split(' ');
  return [time, who, ...after].join(' ');
}

function since(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  // ms throws its own error on "" instead of answering undefined.
  const span = text === '' ? undefined : ms(text as ms.StringValue);
  if (typeof span === 'number' && Number.isFinite(span) && span > 0) return Date.now() - span;
  const time = Date.parse(text);
  if (Number.isNaN(time)) throw new McpdError('USAGE', `--since "${text}" is neither a duration nor a time`, { hint: 'give a duration such as 30m, 2h or 7d, or an ISO time such as 2026-01-31T09:00:00Z' });
  return time;
}
