/**
 * Reading the audit log for `mcpd audit`: the rotated files oldest first, then the current
 * one, filtered by time, server and subject; and following the current file as it grows (and rotates).
 */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { AUDIT_FILE } from './audit.js';
import type { AuditLine } from './events.js';
import { join } from 'node:path';

export interface AuditFilter {
  /** Only lines at or after this time (ms since the epoch). */
  readonly since?: number;
  readonly server?: string;
  /** Only lines about this subject, exactly as the line names it (`token:NAME`, `user:NAME`, `owner`, …). */
  readonly subject?: string;
}

export function matches(line: AuditLine, filter: AuditFilter): boolean {
  if (filter.since !== undefined && Date.parse(line.time) < filter.since) return false;
  if (filter.server !== undefined && (!('server' in line) || line.server !== filter.server)) return false;
  if (filter.subject !== undefined && line.subject !== filter.subject) return false;
  return true;
}

function parse(text: string): AuditLine | undefined {
  try {
    const line = JSON.parse(text) as AuditLine;
    return typeof line === 'object' && line !== null && typeof line.time === 'string' ? line : undefined;
  } catch {
    return undefined; // a line cut by a crash
  }
}

/** Every line of the log and its rotated files, oldest first. */
export async function readAudit(stateDir: string, filter: AuditFilter, keep = 20): Promise<AuditLine[]> {
  return (await readAuditUpTo(stateDir, filter, keep)).lines;
}

/** Where a read of the current file ended (no file yet: its start): followAudit starts there, so no line falls between the two. */
export interface AuditEnd { readonly offset: number; readonly ino?: number }

/** readAudit's lines, and the end of the last whole line it read of the current file. */
export async function readAuditUpTo(stateDir: string, filter: AuditFilter, keep = 20): Promise<{ lines: AuditLine[]; end: AuditEnd }> {
  const file = join(stateDir, AUDIT_FILE);
  const names = [...Array.from({ length: keep }, (_, i) => `${file}.${keep - i}`), file];
  const info = await stat(file).catch(() => undefined);
  const texts = await Promise.all(names.map((name) => readFile(name, 'utf8').catch(() => '')));
  const current = texts.at(-1)!;
  // A line being written has no newline yet: the follow reads it whole.
  const whole = current.slice(0, current.lastIndexOf('\n') + 1);
  texts[texts.length - 1] = whole;
  const lines = texts.flatMap((text) => text.split('\n')).map(parse).filter((l): l is AuditLine => l !== undefined && matches(l, filter));
  return { lines, end: info ? { offset: Buffer.byteLength(whole), ino: info.ino } : { offset: 0 } };
}

/**
 * Calls `each` with every line appended to the current file from `offset` on; a rotation
 * (the file got smaller or was replaced) starts again at the new file's beginning.
 */
export function followAudit(stateDir: string, filter: AuditFilter, each: (line: AuditLine) => void, intervalMs = 200, from?: AuditEnd): () => void {
  const file = join(stateDir, AUDIT_FILE);
  let offset: number | undefined = from?.offset;
  let ino: number | undefined = from?.ino;
  let busy = false;
  const poll = async () => {
    if (busy) return;
    busy = true;
    try {
      const info = await stat(file).catch(() => undefined);
      if (!info) return;
      if (offset === undefined) offset = info.size;
      else if ((ino !== undefined && info.ino !== ino) || info.size < offset) offset = 0;
      ino = info.ino;
      if (info.size <= offset) return;
      const lines = createInterface({ input: createReadStream(file, { start: offset, end: info.size - 1 }) });
      offset = info.size;
      for await (const text of lines) {
        const line = parse(text);
        if (line && matches(line, filter)) each(line);
      }
    } finally {
      busy = false;
    }
  };
  void poll();
  const timer = setInterval(() => void poll(), intervalMs);
  return () => clearInterval(timer);
}
