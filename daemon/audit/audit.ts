/**
 * The audit log: JSON lines in `audit.log` in the state dir, a RotatingFile capped at
 * `daemon.audit` (it becomes `audit.log.1` when a line would take it past `maxBytes`, `keep`
 * old files kept). Writes are synchronous, so an event is on disk before the request it
 * records is answered, and the last ones before a crash are kept.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../../core/clock.js';
import { type FileLimits, RotatingFile } from '../rotating-file.js';
import type { AuditEvent, RotationStep } from './events.js';

export interface Audit {
  record(event: AuditEvent): void;
}

export interface AuditOptions extends FileLimits {
  readonly clock: Clock;
}

export const AUDIT_FILE = 'audit.log';

export function auditPath(stateDir: string): string {
  return join(stateDir, AUDIT_FILE);
}

export class AuditLog implements Audit {
  readonly #file: RotatingFile;
  readonly #clock: Clock;

  constructor(stateDir: string, options: AuditOptions) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    this.#file = new RotatingFile(auditPath(stateDir), options);
    this.#clock = options.clock;
  }

  record(event: AuditEvent): void {
    this.#file.write(`${JSON.stringify({ time: new Date(this.#clock.now()).toISOString(), ...event })}\n`);
  }

  close(): void {
    this.#file.close();
  }
}

/** Records one step of a rotation (the scheduler calls this; rotation is a later issue). */
export function recordRotationStep(audit: Audit, secret: string, step: RotationStep, detail?: string): void {
  audit.record({ event: 'rotation.step', secret, step, ...(detail === undefined ? {} : { detail }) });
}
