/**
 * What rotation keeps on disk, in the state dir's `rotation/` folder, never a value:
 *
 * - `state.json`: per secret, when it was last rotated (and when mcpd first saw it), so
 *   schedules survive restarts and a missed one runs at start-up;
 * - `journal/<id>.json`: one file per rotation under way, rewritten atomically (and fsynced)
 *   before each step, so a daemon killed at any point resumes where it stopped.
 *
 * The new and old values themselves are kept in the local encrypted store while a rotation
 * runs (see rotator.ts), never here.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { McpdError } from '../../core/errors.js';
import type { RotationConfig } from '../config/schema.js';

/** pending → stored → applied → rolled → old-revoked → done (README "Rotation"). */
export const STEPS = ['pending', 'stored', 'applied', 'rolled', 'old-revoked', 'done'] as const;
export type Step = (typeof STEPS)[number];

export interface Journal {
  /** The `rotation` key, as written in the config. */
  readonly name: string;
  readonly strategy: RotationConfig['strategy'];
  step: Step;
  readonly startedAt: string;
  /** The secret's version when the rotation began: the new value is written with check-and-set against it. */
  baseVersion?: string | undefined;
  /** When the new value became current; a server started before then holds the old one. */
  promotedAt?: string | undefined;
  /** Failed attempts at the current step, and why the last one failed. */
  attempts: number;
  lastError?: string | undefined;
  /** Not before this time is the failed step tried again. */
  retryAt?: string | undefined;
}

export interface SecretState {
  /** The last rotation's time, ISO; for a secret never rotated, when mcpd first saw it. */
  last: string;
  /** The secret's version then ('0': not stored yet): another version at the next rotation means someone else rotated it. */
  version?: string | undefined;
}

export class RotationBook {
  readonly #dir: string;

  constructor(stateDir: string) {
    this.#dir = join(stateDir, 'rotation');
  }

  async states(): Promise<Record<string, SecretState>> {
    const text = await readFile(join(this.#dir, 'state.json'), 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return '{}';
      throw error;
    });
    try {
      return JSON.parse(text) as Record<string, SecretState>;
    } catch {
      throw new McpdError('STORE_CORRUPT', `${join(this.#dir, 'state.json')} is not valid JSON`, {
        hint: 'move it aside: mcpd then treats every rotated secret as last rotated now',
      });
    }
  }

  async setState(name: string, state: SecretState): Promise<void> {
    const states = await this.states();
    states[name] = state;
    await this.#write('state.json', states);
  }

  async journals(): Promise<Journal[]> {
    const dir = join(this.#dir, 'journal');
    const files = await readdir(dir).catch(() => [] as string[]);
    const journals = await Promise.all(files.filter((f) => f.endsWith('.json')).map(async (f) => JSON.parse(await readFile(join(dir, f), 'utf8')) as Journal));
    return journals.filter((j) => j.step !== 'done');
  }

  /** Writes the journal durably, before the step it names is taken. */
  async save(journal: Journal): Promise<void> {
    await this.#write(join('journal', `${idOf(journal.name)}.json`), journal);
    failpoint(journal.step);
  }

  async finish(journal: Journal): Promise<void> {
    await rm(join(this.#dir, 'journal', `${idOf(journal.name)}.json`), { force: true });
  }

  async #write(file: string, data: unknown): Promise<void> {
    const path = join(this.#dir, file);
    await mkdir(join(path, '..'), { recursive: true, mode: 0o700 });
    await writeFileAtomic(path, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600, fsync: true });
  }
}

/** A file name for a secret's name, which may hold slashes and colons. */
function idOf(name: string): string {
  return createHash('sha256').update(name).digest('hex').slice(0, 16);
}

/**
 * Fault injection for the resume tests: with MCPD_FAILPOINT=rotation:STEP the process kills
 * itself (SIGKILL, no cleanup) right after the journal for STEP is on disk.
 */
function failpoint(step: Step): void {
  if (process.env.MCPD_FAILPOINT === `rotation:${step}`) process.kill(process.pid, 'SIGKILL');
}
