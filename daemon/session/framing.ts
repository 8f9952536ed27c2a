/**
 * Newline-delimited JSON, as MCP's stdio transport frames it, with a ceiling: a server that
 * writes a line longer than `maxBytes` (runaway output, a binary blob) must not grow the
 * daemon's memory without bound.
 */
export class LineSplitter {
  readonly #maxBytes: number;
  #parts: Buffer[] = [];
  #size = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Feeds a chunk; returns the complete lines in it, or throws LineTooLong. */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      this.#add(chunk.subarray(start, nl));
      const line = Buffer.concat(this.#parts, this.#size).toString('utf8');
      this.#parts = [];
      this.#size = 0;
      // MCP forbids embedded newlines, but a server printing CRLF or a blank line is harmless.
      const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line;
      if (trimmed.trim() !== '') lines.push(trimmed);
      start = nl + 1;
    }
    this.#add(chunk.subarray(start));
    return lines;
  }

  #add(part: Buffer): void {
    if (part.length === 0) return;
    this.#size += part.length;
    if (this.#size > this.#maxBytes) throw new LineTooLong(this.#maxBytes);
    this.#parts.push(part);
  }
}

export class LineTooLong extends Error {
  constructor(readonly maxBytes: number) {
    super(`a message longer than ${maxBytes} bytes`);
  }
}
