/**
 * The fetch the remote bridge sends with: node:http and node:https on keep-alive agents behind
 * fetch's shape (`(url, init) => Promise<Response>`), so origin-fetch.ts and whatever wraps it
 * (credentials, a retry on 401) compose with it as with fetch. Per request it costs about a
 * third of undici's WHATWG fetch in CPU (BENCHMARKS.md, "Where the remote hop's time goes"),
 * and a daemon pays that on every message of every remote session.
 *
 * It does less than fetch, on purpose: it never follows a redirect (origin-fetch.ts follows
 * them, judging each hop's origin; a caller gets the 3xx as fetch's `redirect: 'manual'` gives
 * it), keeps no cookies and no cache, and refuses credentials in the URL as fetch does. An
 * abort listener on the caller's signal lives only as long as its request, so one signal can
 * be shared by any number of requests.
 */
import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { finished, type Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { FetchLike } from './origin-fetch.js';

// One pool per protocol for the process, as fetch's global dispatcher is.
const agents = { 'http:': new HttpAgent({ keepAlive: true }), 'https:': new HttpsAgent({ keepAlive: true }) };

/** Bodies a remote server may compress though it was not asked to (we send no Accept-Encoding). */
const DECODERS: Record<string, () => NodeJS.ReadWriteStream> = { gzip: createGunzip, 'x-gzip': createGunzip, deflate: createInflate, br: createBrotliDecompress };

/** Statuses whose Response must have no body (the Response constructor throws otherwise). */
const NULL_BODY = new Set([101, 204, 205, 304]);

/** A request to `url` over node:http(s), answered as a WHATWG Response whose body streams as it arrives. */
export const httpFetch: FetchLike = (input, init = {}) => {
  const url = new URL(input);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return Promise.reject(new TypeError(`fetch: ${url.protocol} URLs are not supported`));
  if (url.username || url.password) return Promise.reject(new TypeError('fetch: a URL with credentials cannot be requested'));
  const signal = init.signal ?? undefined;
  if (signal?.aborted) return Promise.reject(abortError(signal));
  const headers = Object.fromEntries(new Headers(init.headers));
  const body = bodyOf(init.body);
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
  return send(url, { method: init.method ?? 'GET', headers, body, signal }, false);
};

interface Outgoing {
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: string | Uint8Array | undefined;
  readonly signal: AbortSignal | undefined;
}

function send(url: URL, out: Outgoing, retried: boolean): Promise<Response> {
  const { signal } = out;
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<Response>((resolve, reject) => {
    const req = request(url, { method: out.method, headers: out.headers, agent: agents[url.protocol as 'http:' | 'https:'] });
    let answer: IncomingMessage | undefined;
    const onAbort = () => {
      const reason = abortError(signal!);
      // Before the answer, the promise rejects; after it, the body being read errors.
      if (answer) answer.destroy(reason);
      else req.destroy(reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    // Whatever ends the request (answer read, error, abort) takes the listener off the shared signal.
    const done = () => signal?.removeEventListener('abort', onAbort);
    req.once('error', (error: NodeJS.ErrnoException) => {
      done();
      // A kept-alive connection the server closed as this request went out (its idle timeout):
      // the server never read the request, so it is sent again once, on a new connection, as
      // node's documentation advises and fetch does.
      if (!retried && !answer && req.reusedSocket && error.code === 'ECONNRESET' && !signal?.aborted) resolve(send(url, out, true));
      else reject(error);
    });
    req.once('response', (res) => {
      answer = res;
      res.once('close', done);
      resolve(toResponse(res, out.method));
    });
    req.end(out.body);
  });
}

function bodyOf(body: RequestInit['body']): string | Uint8Array | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  throw new TypeError('fetch: only string and Uint8Array bodies are supported here');
}

/** What fetch rejects with on an abort: the signal's reason, else an AbortError. */
function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new DOMException('This operation was aborted', 'AbortError');
}

function toResponse(res: IncomingMessage, method: string): Response {
  const headers = new Headers();
  const raw = res.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  const status = res.statusCode ?? 0;
  const init = { status, statusText: res.statusMessage ?? '', headers };
  if (NULL_BODY.has(status) || method === 'HEAD') {
    res.resume();
    return new Response(null, init);
  }
  const coding = res.headers['content-encoding']?.trim().toLowerCase();
  const decoder = coding ? DECODERS[coding] : undefined;
  const source: Readable = decoder ? res.pipe(decoder()) as unknown as Readable : res;
  if (decoder) res.once('error', (error) => source.destroy(error));
  return new Response(webStream(source), init);
}

/**
 * `source` as a web stream, paused while the reader is behind. Readable.toWeb does the same
 * with more machinery per stream (a queuing strategy, a transfer wrapper): a sixth of the
 * daemon's CPU per request when measured.
 */
function webStream(source: Readable): ReadableStream<Uint8Array> {
  let settled = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      source.on('data', (chunk: Buffer) => {
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 1) <= 0) source.pause();
      });
      // A body cut short (reset, abort) errors the stream, as fetch's does; one read to its end closes it.
      finished(source, (error) => {
        if (settled) return;
        settled = true;
        if (error) controller.error(error);
        else controller.close();
      });
    },
    pull() {
      source.resume();
    },
    cancel(reason) {
      settled = true;
      source.destroy(reason instanceof Error ? reason : undefined);
    },
  });
}
