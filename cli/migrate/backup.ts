/**
 * What `mcpd migrate` keeps of a host file so `--undo` can put it back without undoing what the
 * host app saved since: the file's text from before, a hash of the text migrate wrote, and each
 * entry it replaced with `mcpd run NAME`, as it was. Kept encrypted in the local store, as it
 * holds the secrets that were moved out.
 *
 * Undo puts the old text back whole only while the file is still what migrate wrote; once the
 * host app has saved it, only the entries that still read `mcpd run NAME` are put back, in place.
 */
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { requireJsonc } from '../../daemon/config/load.js';

export interface ReplacedEntry {
  /** The entry's JSON path in the host file: `['mcpServers', 'github']`. */
  readonly path: readonly string[];
  /** The server's definition as the host had it. */
  readonly original: unknown;
}

export interface Backup {
  readonly before: string;
  /** sha256 of the text migrate wrote; undefined for a copy kept before mcpd recorded it. */
  readonly wrote: string | undefined;
  readonly entries: readonly ReplacedEntry[];
}

export interface Undone {
  readonly text: string;
  /** True when the file was still what migrate wrote, and `before` went back whole. */
  readonly whole: boolean;
  /** Entries put back, by JSON path; only when not whole. */
  readonly restored: readonly string[];
  /** Entries the host app changed or removed since, left as they are; only when not whole. */
  readonly changed: readonly string[];
}

const MARK = 'mcpd-migrate-backup';
const FORMAT = { insertSpaces: true, tabSize: 2, eol: '\n' };

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The backup as stored; `previous` is the one an earlier migration of the same file left, whose entries are kept. */
export function encodeBackup(backup: Backup, previous: Backup | undefined): string {
  const paths = new Set(backup.entries.map((e) => JSON.stringify(e.path)));
  const entries = [...(previous?.entries ?? []).filter((e) => !paths.has(JSON.stringify(e.path))), ...backup.entries];
  return JSON.stringify({ [MARK]: 1, before: backup.before, wrote: backup.wrote, entries });
}

/** A stored backup; a plain text one (kept by an earlier mcpd) is the old file alone. */
export function decodeBackup(stored: string): Backup {
  try {
    const parsed = JSON.parse(stored) as Record<string, unknown>;
    if (parsed?.[MARK] === 1 && typeof parsed.before === 'string' && typeof parsed.wrote === 'string' && Array.isArray(parsed.entries)) {
      return { before: parsed.before, wrote: parsed.wrote, entries: parsed.entries as ReplacedEntry[] };
    }
  } catch {
    // Not JSON: the host file's text, JSONC with comments, as an earlier mcpd kept it.
  }
  return { before: stored, wrote: undefined, entries: [] };
}

/** What `--undo` writes, given the file's `current` text. */
export function undoText(backup: Backup, current: string): Undone {
  const whole = backup.wrote === undefined || sha256(current) === backup.wrote;
  // Whole: the old text, with entries an earlier migration replaced put back too.
  let text = whole ? backup.before : current;
  const restored: string[] = [];
  const changed: string[] = [];
  const jsonc = requireJsonc();
  for (const entry of backup.entries) {
    const tree = jsonc.parseTree(text);
    const node = tree && jsonc.findNodeAtLocation(tree, [...entry.path]);
    const name = entry.path.at(-1);
    // getNodeValue's objects have no prototype: compared as plain JSON.
    if (node && isDeepStrictEqual(JSON.parse(JSON.stringify(jsonc.getNodeValue(node))), { command: 'mcpd', args: ['run', name] })) {
      text = jsonc.applyEdits(text, jsonc.modify(text, [...entry.path], entry.original, { formattingOptions: FORMAT }));
      restored.push(shown(entry.path));
    } else {
      changed.push(shown(entry.path));
    }
  }
  return whole ? { text, whole, restored: [], changed: [] } : { text, whole, restored, changed };
}

/** An entry as the migration report names it: `github`, or `github (project /work/a)`. */
function shown(path: readonly string[]): string {
  return path.length === 4 && path[0] === 'projects' ? `${path[3]} (project ${path[1]})` : String(path.at(-1));
}
