/**
 * The daemon's extra listeners (`socket.listen`), kept in step with the config. A reload binds
 * the entries that are new, closes those that are gone and leaves the rest alone, so an edit
 * that adds a loopback port for a container does not cost every open session a restart.
 *
 * Closing a listener stops new connections on it; sessions already open through it go on,
 * as sshd's do when its config changes (their tokens still govern them: revoke one to end them).
 */
import type { Server } from 'node:http';
import { isDeepStrictEqual } from 'node:util';
import { McpdError } from '../../core/errors.js';
import type { ListenSpec } from '../config/schema.js';
import { listenExtra } from './listeners.js';

interface Bound { readonly spec: ListenSpec; readonly server: Server; readonly name: string }

export class ExtraListeners {
  #bound: Bound[] = [];
  #failures: string[] = [];
  #queue: Promise<unknown> = Promise.resolve();
  readonly #create: (spec: ListenSpec, index: number) => Server;

  /** `create` makes the HTTP server for one listener (its routes, token required), given its entry. */
  constructor(create: (spec: ListenSpec, index: number) => Server) {
    this.#create = create;
  }

  /** How status names each bound listener (`unix:PATH`, `tcp:HOST:PORT`), in config order. */
  get names(): string[] {
    return this.#bound.map((l) => l.name);
  }

  /** Why entries of the current config are not listened on (set by the last `update`). */
  get failures(): string[] {
    return [...this.#failures];
  }

  /** At start: binds every entry; the first that fails is thrown, after closing those bound. */
  async start(specs: readonly ListenSpec[]): Promise<void> {
    const failures = await this.update(specs);
    if (failures.length === 0) return;
    await this.close();
    throw failures[0]!;
  }

  /**
   * Makes the bound listeners those of `specs`: entries equal to a bound one keep it; the rest
   * are bound; bound ones no entry names are closed. Returns the entries that could not be bound.
   * One at a time: the watcher's reload and `mcpd reload` may ask at once.
   */
  update(specs: readonly ListenSpec[]): Promise<McpdError[]> {
    const done = this.#queue.then(() => this.#update(specs));
    this.#queue = done.catch(() => {});
    return done;
  }

  async #update(specs: readonly ListenSpec[]): Promise<McpdError[]> {
    const kept = this.#bound.filter((l) => specs.some((spec) => isDeepStrictEqual(spec, l.spec)));
    const gone = this.#bound.filter((l) => !kept.includes(l));
    // Closed first, so that a path or port given back is free to bind again. Not awaited: the
    // close callback waits for every connection, and sessions through it go on.
    for (const l of gone) stopListening(l.server);
    const next: Bound[] = [];
    const failures: McpdError[] = [];
    for (const [index, spec] of specs.entries()) {
      const same = kept.find((l) => isDeepStrictEqual(spec, l.spec) && !next.includes(l));
      if (same) {
        next.push(same);
        continue;
      }
      let server: Server | undefined;
      try {
        // Inside the try: making it may fail too (an HTTPS listener whose certificate cannot be read).
        server = this.#create(spec, index);
        next.push({ spec, server, name: await listenExtra(server, spec, index) });
      } catch (error) {
        server?.close();
        failures.push(error instanceof McpdError ? error : new McpdError('INTERNAL', String(error)));
      }
    }
    this.#bound = next;
    this.#failures = failures.map((error) => error.message);
    return failures;
  }

  /** Closes every listener and its connections (the daemon is stopping; it has ended the sessions). */
  async close(): Promise<void> {
    await this.#queue;
    await Promise.all(this.#bound.map((l) => closeServer(l.server)));
    this.#bound = [];
  }
}

/** Stops listening now; connections already made (sessions) are left to end on their own. */
function stopListening(server: Server): void {
  if (!server.listening) return;
  server.close(); // closes the listening fd (and, for a path, unlinks it) before it returns
  server.closeIdleConnections();
}

/** Stops listening and resolves once every connection is gone, dropping those left. */
export function closeServer(server: Server | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!server?.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
