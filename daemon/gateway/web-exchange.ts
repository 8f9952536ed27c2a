/**
 * Node's http on one side, the web-standard Request and Response the SDK's Streamable HTTP
 * transport speaks on the other.
 *
 * The SDK's own Node wrapper does this through @hono/node-server, whose response writer waits
 * a timer turn (≥ 1 ms) when a body has one chunk ready and not a second: that is every SSE
 * answer with an event store, which writes its priming event first. Every ping through the
 * gateway paid it (BENCHMARKS.md, "gateway"). Here each chunk is written as it comes; Node's http
 * corks a chunked response until the next tick, so an answer and the end that the transport
 * hands over in one turn still leave in one write.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The request as the transport reads it: method, headers and path. Never a body: the gateway
 * has read and parsed it already (the transport takes it as `parsedBody`).
 */
export function toWebRequest(req: IncomingMessage): Request {
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  // The transport reads the path only; mcpd answers Host itself (the listener's DNS rebinding check).
  return new Request(new URL(req.url ?? '/', 'http://mcpd'), { method: req.method, headers });
}

/**
 * The responses of one session that wait for their client to read what was written: the
 * transport's streams take whatever it is given, so this is the only sign of a client that
 * stopped reading (http-link.ts reports it as backpressure, and the server's output waits).
 */
export class Stalls {
  #count = 0;
  #waiting: Array<() => void> = [];

  get any(): boolean {
    return this.#count > 0;
  }

  /** Calls `callback` once no response waits. */
  whenNone(callback: () => void): void {
    if (this.#count === 0) callback();
    else this.#waiting.push(callback);
  }

  async during(wait: Promise<void>): Promise<void> {
    this.#count++;
    try {
      await wait;
    } finally {
      if (--this.#count === 0) for (const callback of this.#waiting.splice(0)) callback();
    }
  }
}

/**
 * Writes `response` to `res`, its body streamed until it ends or the client goes away; the
 * body's reader is cancelled then, which is how the transport learns that a stream is gone
 * (its events are still stored, for the client to resume from). While the client does not
 * read, the body is not read either, and `stalls` counts the response.
 */
export async function sendWebResponse(response: Response, res: ServerResponse, stalls?: Stalls): Promise<void> {
  const head: Record<string, string> = {};
  response.headers.forEach((value, name) => { head[name] = value; });
  res.writeHead(response.status, head);
  if (!response.body) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  const cancel = () => void reader.cancel().catch(() => {});
  res.once('close', cancel);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (res.destroyed) return cancel();
      if (!res.write(value)) await (stalls ? stalls.during(drainedOrClosed(res)) : drainedOrClosed(res));
    }
  } catch {
    // The transport errored its own stream: the response ends here, as a dropped stream would.
  } finally {
    res.off('close', cancel);
  }
  if (!res.destroyed) res.end();
}

function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((done) => {
    const go = () => {
      res.off('drain', go);
      res.off('close', go);
      done();
    };
    res.on('drain', go);
    res.on('close', go);
  });
}
