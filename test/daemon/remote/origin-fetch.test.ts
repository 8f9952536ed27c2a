/**
 * A url server's headers reach its own origin and no other: real recording servers on
 * 127.0.0.1 (the MCP server's origin, two ports) and 127.0.0.2 (another origin), with
 * redirects between them followed by the wrapper itself, judged by the URL each hop goes to.
 * Each case runs over fetch and over http-fetch.ts, the node:http fetch the daemon sends with.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { httpFetch } from '../../../daemon/remote/http-fetch.js';
import { type FetchLike, originFetch } from '../../../daemon/remote/origin-fetch.js';
import { staticHeaders } from '../../../daemon/remote/token-source.js';

const SECRET = 'Bearer s3cret-origin-test';

interface Recorder {
  readonly origin: string;
  readonly seen: Array<{ path: string; method: string; headers: IncomingHttpHeaders }>;
  close(): Promise<void>;
}

/** Records each request; `/to?u=URL&s=STATUS` answers a redirect to URL, anything else 200. */
async function recorder(host: string): Promise<Recorder> {
  const seen: Recorder['seen'] = [];
  const server: Server = createServer((req, res) => {
    seen.push({ path: req.url!, method: req.method!, headers: req.headers });
    req.resume();
    const url = new URL(req.url!, 'http://x');
    if (url.pathname === '/to') res.writeHead(Number(url.searchParams.get('s')), { location: url.searchParams.get('u')! }).end();
    else res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  server.listen(0, host);
  await once(server, 'listening');
  return { origin: `http://${host}:${(server.address() as AddressInfo).port}`, seen, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const BASES: ReadonlyArray<[string, FetchLike]> = [['fetch', fetch], ['httpFetch', httpFetch]];

for (const [baseName, base] of BASES) describe(`originFetch over ${baseName}`, () => {
  let own: Recorder;
  let ownOtherPort: Recorder;
  let other: Recorder;
  before(async () => {
    [own, ownOtherPort, other] = await Promise.all([recorder('127.0.0.1'), recorder('127.0.0.1'), recorder('127.0.0.2')]);
  });
  after(() => Promise.all([own.close(), ownOtherPort.close(), other.close()]));

  const clear = () => [own, ownOtherPort, other].forEach((r) => r.seen.splice(0));
  const fetchFor = () => originFetch(`${own.origin}/mcp`, staticHeaders({ Authorization: SECRET, 'X-Api-Key': 'k' }), base);

  it('adds the headers for the server\'s origin, and not for another host or another port', async () => {
    clear();
    const f = fetchFor();
    for (const url of [`${own.origin}/mcp`, `${other.origin}/.well-known/oauth-authorization-server`, `${ownOtherPort.origin}/mcp`]) {
      assert.equal((await f(url, { method: 'GET', headers: { accept: 'text/plain' } })).status, 200);
    }
    assert.equal(own.seen[0]!.headers.authorization, SECRET);
    assert.equal(own.seen[0]!.headers['x-api-key'], 'k');
    assert.equal(own.seen[0]!.headers.accept, 'text/plain', 'the caller\'s own headers are kept');
    for (const r of [other, ownOtherPort]) {
      assert.equal(r.seen.length, 1);
      assert.equal(r.seen[0]!.headers.authorization, undefined);
      assert.equal(r.seen[0]!.headers['x-api-key'], undefined);
    }
  });

  it('a redirect to another origin is followed without the headers, and back to the origin with them', async () => {
    clear();
    const back = `${own.origin}/mcp-final`;
    const away = `${other.origin}/to?s=307&u=${encodeURIComponent(back)}`;
    const response = await fetchFor()(`${own.origin}/to?s=302&u=${encodeURIComponent(away)}`, { method: 'GET' });
    assert.equal(response.status, 200);
    assert.deepEqual(own.seen.map((s) => [s.path.split('?')[0], s.headers.authorization]), [['/to', SECRET], ['/mcp-final', SECRET]]);
    assert.deepEqual(other.seen.map((s) => [s.path.split('?')[0], s.headers.authorization, s.headers['x-api-key']]), [['/to', undefined, undefined]]);
  });

  it('a caller that asked for redirect: manual (the SDK\'s same-origin policy) gets the redirect itself', async () => {
    clear();
    const response = await fetchFor()(`${own.origin}/to?s=307&u=${encodeURIComponent(`${other.origin}/x`)}`, { method: 'POST', body: '{}', redirect: 'manual' });
    assert.equal(response.status, 307);
    assert.equal(other.seen.length, 0);
  });

  it('property: along any redirect chain, a request carries the headers exactly when it goes to the server\'s origin', async () => {
    const hosts = () => [own.origin, ownOtherPort.origin, other.origin];
    await fc.assert(fc.asyncProperty(
      fc.array(fc.record({ at: fc.integer({ min: 0, max: 2 }), status: fc.constantFrom(301, 302, 303, 307, 308) }), { minLength: 1, maxLength: 5 }),
      fc.integer({ min: 0, max: 2 }),
      fc.constantFrom('GET', 'POST'),
      async (hops, last, method) => {
        clear();
        // Built from the end: each hop redirects to the next; the last answers 200.
        let url = `${hosts()[last]}/end`;
        for (const hop of [...hops].reverse()) url = `${hosts()[hop.at]}/to?s=${hop.status}&u=${encodeURIComponent(url)}`;
        const response = await fetchFor()(url, { method, ...(method === 'POST' ? { body: '{"x":1}' } : {}) });
        assert.equal(response.status, 200);
        const all = [own, ownOtherPort, other].flatMap((r) => r.seen.map((s) => ({ r, s })));
        assert.equal(all.length, hops.length + 1);
        for (const { r, s } of all) {
          assert.equal(s.headers.authorization, r === own ? SECRET : undefined, `${r.origin}${s.path}`);
          assert.equal(s.headers['x-api-key'], r === own ? 'k' : undefined);
        }
      },
    ), { numRuns: 40 });
  });
});
