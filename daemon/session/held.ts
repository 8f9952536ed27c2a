/**
 * Client messages that wait for the server: it is not running (starting, or coming back after a
 * crash), or a roll is draining the old instance. They go to the server in the order the client
 * sent them.
 */
export class HeldMessages {
  #held: Array<{ line: Buffer; key: string | undefined }> = [];

  get waiting(): boolean {
    return this.#held.length > 0;
  }

  /** Holds `line`, with the id key of its request if it is one. */
  push(line: Buffer, key: string | undefined): void {
    this.#held.push({ line, key });
  }

  /** The id keys of the held requests: those never reached the current instance, so no error is owed for them when it goes. */
  keys(): Set<string | undefined> {
    return new Set(this.#held.map((h) => h.key));
  }

  /** Every held message, in order, no longer held. */
  take(): Buffer[] {
    const lines = this.#held.map((h) => h.line);
    this.#held = [];
    return lines;
  }
}
