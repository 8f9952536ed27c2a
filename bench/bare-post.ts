/**
 * The least the HTTP leg of a bridge can do, for bench/floor-remote: each JSON-RPC message one
 * POST with Node's own fetch, the session id kept from the answer to initialize, and the answer
 * read as JSON or as an event stream cut at blank lines. No SDK transport, no resumption, no
 * GET stream, no redirects judged: what is left is what any Streamable HTTP client must do.
 */

/** Headers every POST carries (the transport's content negotiation). */
const NEGOTIATE = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** One Streamable HTTP session at `url`, with `headers` on every request. */
export class BarePost {
  #session: string | undefined;

  constructor(private readonly url: string, private readonly headers: Record<string, string> = {}) {}

  /** POSTs one message (its JSON text); `onAnswer` gets each JSON-RPC message of the answer as it arrives. */
  async post(text: string, onAnswer: (line: string) => void): Promise<void> {
    const headers = { ...this.headers, ...NEGOTIATE, ...(this.#session === undefined ? {} : { 'mcp-session-id': this.#session }) };
    const response = await fetch(this.url, { method: 'POST', headers, body: text });
    if (!response.ok) throw new Error(`POST ${this.url} answered ${response.status}`);
    this.#session ??= response.headers.get('mcp-session-id') ?? undefined;
    if (!response.body) return;
    if (response.headers.get('content-type')?.startsWith('text/event-stream')) {
      await readEvents(response.body, onAnswer);
    } else {
      const body = await response.text();
      if (body) onAnswer(body);
    }
  }

  /** Ends the session on the server (DELETE), as a client that closes cleanly does. */
  async end(): Promise<void> {
    if (this.#session === undefined) return;
    const response = await fetch(this.url, { method: 'DELETE', headers: { ...this.headers, 'mcp-session-id': this.#session } }).catch(() => undefined);
    await response?.body?.cancel();
  }
}

/**
 * The `data:` of each event, handed on as soon as its blank line arrives (the server ends the
 * stream after the answer, but a client need not wait for that). Events without data (the
 * server's priming events for resumption) are skipped. Cut by hand, not with an SSE parser:
 * this is the floor, and the server writes `\n` line ends only.
 */
async function readEvents(body: ReadableStream<Uint8Array>, onAnswer: (line: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of body) {
    buffered += decoder.decode(chunk, { stream: true });
    for (let end = buffered.indexOf('\n\n'); end !== -1; end = buffered.indexOf('\n\n')) {
      const event = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const data = event.split('\n').filter((line) => line.startsWith('data:')).map((line) => line.slice(line.startsWith('data: ') ? 6 : 5));
      if (data.length > 0 && data.join('')) onAnswer(data.join('\n'));
    }
  }
}
