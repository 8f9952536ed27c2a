/**
 * An append-only file with a size cap, 0600: when a write would take it past `maxBytes`, it is
 * renamed `FILE.1` (older ones shift up to `keep`, the oldest goes) and a new file starts. The
 * audit log, `daemon.log` and each server's `logs/NAME.log` are one each, so none can fill the
 * disk however much is written to it.
 *
 * Writes are synchronous, so a line is on disk before the request it records is answered, and
 * the last ones before a crash or a SIGKILL are kept.
 */
import { closeSync, fstatSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

export interface FileLimits {
  readonly maxBytes: number;
  /** How many rotated files to keep beside the current one. */
  readonly keep: number;
}

export class RotatingFile {
  readonly path: string;
  #limits: FileLimits;
  #fd: number | undefined;
  #size = 0;

  constructor(path: string, limits: FileLimits) {
    this.path = path;
    this.#limits = limits;
  }

  /** Takes new limits from the next write on (the daemon's log is opened before the config is read). */
  set limits(limits: FileLimits) {
    this.#limits = limits;
  }

  /** Appends `text`, rotating first when it would pass the cap; a failure (a full disk) loses the text, nothing else. */
  write(text: string): void {
    try {
      this.#open();
      if (this.#size > 0 && this.#size + Buffer.byteLength(text) > this.#limits.maxBytes) this.#rotate();
      this.#size += writeSync(this.#open(), text);
    } catch {
      // A full disk loses log lines, not running servers.
    }
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  #open(): number {
    if (this.#fd === undefined) {
      this.#fd = openSync(this.path, 'a', 0o600);
      this.#size = fstatSync(this.#fd).size;
    }
    return this.#fd;
  }

  #rotate(): void {
    this.close();
    const keep = this.#limits.keep;
    rmSync(`${this.path}.${keep}`, { force: true });
    for (let n = keep - 1; n >= 1; n--) {
      try {
        renameSync(`${this.path}.${n}`, `${this.path}.${n + 1}`);
      } catch {
        // that generation does not exist yet
      }
    }
    if (keep > 0) renameSync(this.path, `${this.path}.1`);
    else rmSync(this.path, { force: true });
    this.#open();
  }
}
