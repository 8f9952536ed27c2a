/**
 * The audit log: JSON lines in `audit.log` in the state dir, 0600. When a line would take the
 * file past `maxBytes`, it is renamed `audit.log.1` (older ones shift up to `keep`, the oldest
 * goes) and a new file starts. Writes are synchronous, so an event is on disk before the
 * request it records is answered, and the last ones before a crash are kept.
 */
import { closeSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../../core/clock.js';
import type { AuditEvent, RotationStep } from './events.js';

export interface Audit {
  record(event: AuditEvent): void;
}

export interface AuditOptions {
  readonly maxBytes: number;
  /** How many rotated files to keep beside the current one. */
  readonly keep: number;
  readonly clock: Clock;
}

export const AUDIT_FILE = 'audit.log';

export function auditPath(stateDir: string): string {
  return join(stateDir, AUDIT_FILE);
}

export class AuditLog implements Audit {
  readonly #file: string;
  readonly #options: AuditOptions;
  #fd: number | undefined;
  #size = 0;

  constructor(stateDir: string, options: AuditOptions) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    this.#file = auditPath(stateDir);
    this.#options = options;
  }

  record(event: AuditEvent): void {
    const line = `${JSON.stringify({ time: new Date(this.#options.clock.now()).toISOString(), ...event })}\n`;
    const bytes = Buffer.byteLength(line);
    try {
      this.#open();
      if (this.#size > 0 && this.#size + bytes > this.#options.maxBytes) this.#rotate();
      this.#size += writeSync(this.#open(), line);
    } catch {
      // A full disk loses audit lines, not running servers.
    }
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  #open(): number {
    if (this.#fd === undefined) {
      this.#fd = openSync(this.#file, 'a', 0o600);
      this.#size = fstatSync(this.#fd).size;
    }
    return this.#fd;
  }

  #rotate(): void {
    this.close();
    const keep = this.#options.keep;
    rmSync(`${this.#file}.${keep}`, { force: true });
    for (let n = keep - 1; n >= 1; n--) {
      try {
        renameSync(`${this.#file}.${n}`, `${this.#file}.${n + 1}`);
      } catch {
        // that generation does not exist yet
      }
    }
    if (keep > 0) renameSync(this.#file, `${this.#file}.1`);
    else rmSync(this.#file, { force: true });
    this.#open();
  }
}

/** Records one step of a rotation (the scheduler calls this; rotation is a later issue). */
export function recordRotationStep(audit: Audit, secret: string, step: RotationStep, detail?: string): void {
  audit.record({ event: 'rotation.step', secret, step, ...(detail === undefined ? {} : { detail }) });
}
