/**
 * Each server's stderr, already masked: the last lines in memory for `mcpd logs NAME`, every
 * line appended to `logs/NAME.log` in the state dir, and pushed to `mcpd logs -f` followers.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { LogLine } from './protocol.js';

const KEEP_LINES = 1000;

export class LogBook {
  readonly #dir: string;
  readonly #rings = new Map<string, LogLine[]>();
  readonly #files = new Map<string, WriteStream>();
  readonly #followers = new Map<string, Set<(line: LogLine) => void>>();

  constructor(stateDir: string) {
    this.#dir = join(stateDir, 'logs');
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

  async close(): Promise<void> {
    await Promise.all([...this.#files.values()].map((file) => new Promise((resolve) => file.end(resolve))));
    this.#files.clear();
  }

  #file(server: string): WriteStream {
    let file = this.#files.get(server);
    if (!file) {
      file = createWriteStream(join(this.#dir, `${server}.log`), { flags: 'a', mode: 0o600 });
      file.on('error', () => {}); // a full disk loses log lines, not servers
      this.#files.set(server, file);
    }
    return file;
  }
}
