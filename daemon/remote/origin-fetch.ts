/**
 * The fetch a remote server's transport uses: a request to the server's own origin gets the
 * token source's headers, any other origin (an authorization server, a metadata endpoint, a
 * redirect target) gets none. The SDK's `requestInit` would send them everywhere, and fetch's
 * own redirect handling would carry them across origins, so redirects are followed here,
 * each hop judged by the URL it actually goes to. A 401 or 403 from the server's origin is
 * the token source's to judge (a sign-in renews, or steps up): a request is sent again once
 * at most, so a server that keeps refusing is answered with its refusal.
 */
import type { TokenSource } from './token-source.js';

export type FetchLike = (url: string | URL, init?: RequestInit) => Promise<Response>;

const MAX_REDIRECTS = 10;
const REDIRECT = new Set([301, 302, 303, 307, 308]);

/** A fetch that adds `source`'s headers to requests whose URL has `server`'s origin, and to no other. */
export function originFetch(server: string | URL, source: TokenSource, base: FetchLike = fetch): FetchLike {
  const origin = new URL(server).origin;
  const hop = async (url: URL, init: RequestInit, left: number, retried = false): Promise<Response> => {
    // Built afresh from the caller's headers at each hop: what one origin got never reaches the next.
    const headers = new Headers(init.headers);
    const own = url.origin === origin;
    if (own) for (const [name, value] of Object.entries(await source.headers())) headers.set(name, value);
    const response = await base(url, { ...init, headers, redirect: 'manual' });
    if (own && !retried && source.refused && (response.status === 401 || response.status === 403)) {
      if (await source.refused(response, headers.get('authorization') ?? undefined)) {
        await response.body?.cancel();
        return hop(url, init, left, true);
      }
    }
    const location = response.headers.get('location');
    // A caller that asked for 'manual' (the SDK does, to judge a redirect itself) or 'error' gets the redirect as is.
    if (!REDIRECT.has(response.status) || location === null || (init.redirect !== undefined && init.redirect !== 'follow') || left === 0) return response;
    await response.body?.cancel();
    const method = (init.method ?? 'GET').toUpperCase();
    // As fetch does: 303, and 301/302 after a POST, become a GET without a body.
    const toGet = response.status === 303 ? method !== 'GET' && method !== 'HEAD' : (response.status === 301 || response.status === 302) && method === 'POST';
    const next: RequestInit = toGet ? { ...init, method: 'GET', body: undefined } : init;
    return hop(new URL(location, url), next, left - 1, retried);
  };
  return (url, init = {}) => hop(new URL(url), init, MAX_REDIRECTS);
}
