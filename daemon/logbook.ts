/**
 * Each server's stderr, already masked: the last lines in memory for `mcpd logs NAME`, every
 * line appended to `logs/NAME.log` in the state dir (a RotatingFile capped at `daemon.log` in
 * the config), and pushed to `mcpd logs -f` followers.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { LogLine } from './protocol.js';
import { type FileLimits, RotatingFile } from './rotating-file.js';

const KEEP_LINES = 1000;

export class LogBook {
  readonly #dir: string;
  readonly #limits: FileLimits;
  readonly #rings = new Map<string, LogLine[]>();
  readonly #files = new Map<string, RotatingFile>();
  readonly #followers = new Map<string, Set<(line: LogLine) => void>>();

  constructor(stateDir: string, limits: FileLimits) {
    this.#dir = join(stateDir, 'logs');
    this.#limits = limits;
    mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
  }

  add(server: string, session: string, text: string): void {
    const line: LogLine = { time: new Date().toISOString(), server, session, line: text };
    let ring = this.#rings.get(server);
    if (!ring) this.#rings.set(server, (ring = []));
    ring.push(line);
    if (ring.length > KEEP_LINES) ring.splice(0, ring.length - KEEP_LINES);
    this.#file(server).write(`${line.time} [${session}] ${text}\n`);
    for (const follower of this.#followers.get(server) ?? []) follower(line);
  }

  tail(server: string, lines: number): LogLine[] {
    return (this.#rings.get(server) ?? []).slice(-Math.max(0, lines));
  }

  /** Calls `follower` with every new line of `server`; returns the unsubscribe. */
  follow(server: string, follower: (line: LogLine) => void): () => void {
    let set = this.#followers.get(server);
    if (!set) this.#followers.set(server, (set = new Set()));
    set.add(follower);
    return () => set.delete(follower);
  }

  close(): void {
    for (const file of this.#files.values()) file.close();
    this.#files.clear();
  }

  #file(server: string): RotatingFile {
    let file = this.#files.get(server);
    if (!file) this.#files.set(server, (file = new RotatingFile(join(this.#dir, `${server}.log`), this.#limits)));
    return file;
  }
}
