/**
 * ClientAccess, the token store and the expiry watch with a manual clock: a token expires
 * when its time comes (no waiting), a session's expiring token wakes the daemon, and the
 * store file holds hashes and times only.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { McpdError } from '../../../core/errors.js';
import type { AuditEvent } from '../../../daemon/audit/events.js';
import { ClientAccess, USE_NOTED_MS } from '../../../daemon/auth/access.js';
import { AuthChain } from '../../../daemon/auth/providers/chain.js';
import { OWNER } from '../../../daemon/auth/scopes.js';
import { ExpiryWatch } from '../../../daemon/auth/expiry.js';
import { TokenStore } from '../../../daemon/auth/store.js';
import { findHash, sha256Hex } from '../../../daemon/auth/token.js';
import { emptyConfig } from '../../../daemon/config/schema.js';
import { ManualClock } from '../../helpers/manual-clock.js';

const DAY = 86_400_000;
const request = (token?: string) => ({ headers: token ? { authorization: `Bearer ${token}` } : {} }) as IncomingMessage;
const url = new URL('http://mcpd/v1/session/github');

describe('ClientAccess', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'mcpd-access-')); });
  after(() => rm(dir, { recursive: true, force: true }));

  it('a token works until its expiry, then gets 401 naming the time; the store keeps only hashes', async () => {
    const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
    const events: AuditEvent[] = [];
    const file = join(dir, 'tokens.json');
    const access = new ClientAccess(await TokenStore.open(file), () => emptyConfig, clock, { by: () => ({ record: (e) => events.push(e) }) });
    const chain = AuthChain.forOwnerSocket(access, () => emptyConfig);
    const { token, info } = await access.create('ci', ['launch:github'], '30d', OWNER);
    assert.equal(info.expiresAt, '2026-01-31T00:00:00.000Z');
    const principal = await chain.authenticate(request(token), url);
    assert.deepEqual(principal, { kind: 'token', subject: 'token:ci', name: 'ci', source: 'state', scopes: ['launch:github'], roles: [] });
    assert.equal(access.expiresAt(principal), Date.parse('2026-01-31T00:00:00Z'));
    assert.deepEqual(await chain.authenticate(request(), url), OWNER);
    clock.advance(30 * DAY);
    assert.equal(access.stillValid(principal), false);
    await assert.rejects(chain.authenticate(request(token), url), (e: unknown) => e instanceof McpdError && e.code === 'TOKEN_INVALID' && e.message === 'token "ci" expired at 2026-01-31T00:00:00.000Z');
    await access.flush();
    const stored = await readFile(file, 'utf8');
    assert.ok(!stored.includes(token) && stored.includes(sha256Hex(token)) && stored.includes('"lastUsedAt": "2026-01-01T00:00:00.000Z"'));
    // A refusal is audited by the socket's RefusalTally, counted per peer (test/daemon/server/refusal-tally.test.ts).
    assert.deepEqual(events.map((e) => e.event), ['token.created', 'token.used']);
    assert.ok(!JSON.stringify(events).includes(token));
  });

  it('a token\'s use of a route is recorded once a minute, not at every request (an HTTP client presents it on each)', async () => {
    const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
    const lines: Array<AuditEvent & { subject: string }> = [];
    const file = join(dir, 'tokens-uses.json');
    const access = new ClientAccess(await TokenStore.open(file), () => emptyConfig, clock, { by: (actor) => ({ record: (e) => lines.push({ ...e, subject: actor.subject }) }) });
    const { token } = await access.create('http-app', ['launch:*'], undefined, OWNER);
    const uses = () => lines.filter((l) => l.event === 'token.used').map((l) => `${l.subject} ${(l as { route: string }).route}`);
    for (let i = 0; i < 50; i++) access.verify(token, '/mcp/github');
    access.verify(token, '/mcp/linear');
    assert.deepEqual(uses(), ['token:http-app /mcp/github', 'token:http-app /mcp/linear']);
    clock.advance(USE_NOTED_MS - 1);
    access.verify(token, '/mcp/github');
    assert.equal(uses().length, 2, 'within the minute: not recorded again');
    clock.advance(1);
    access.verify(token, '/mcp/github');
    assert.deepEqual(uses(), ['token:http-app /mcp/github', 'token:http-app /mcp/linear', 'token:http-app /mcp/github']);
    await access.flush();
    assert.match(await readFile(file, 'utf8'), /"lastUsedAt": "2026-01-01T00:01:00.000Z"/);
  });

  it('an expiry that is not a duration, the empty one included, is a usage error naming it', async () => {
    const access = new ClientAccess(await TokenStore.open(join(dir, 'tokens-bad.json')), () => emptyConfig, new ManualClock(0), { by: () => ({ record: () => {} }) });
    for (const expires of ['', 'soon']) {
      await assert.rejects(access.create('ci', ['launch:github'], expires, OWNER), (e: unknown) => e instanceof McpdError && e.code === 'USAGE' && e.message === `--expires "${expires}" is not a duration` && e.hint === 'give a duration such as 12h, 30d or 1y');
    }
  });

  it('a JWT\'s principal holds until its expiresAt (exp plus the leeway), one without it (an HTTP session\'s) for good', async () => {
    const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
    const access = new ClientAccess(await TokenStore.open(join(dir, 'tokens-jwt.json')), () => emptyConfig, clock, { by: () => ({ record: () => {} }) });
    const at = clock.now() + 60_000;
    const jwt = { kind: 'jwt', subject: 'jwt:alice@id.example.com', issuer: 'https://id.example.com', roles: [], expiresAt: at } as const;
    const { expiresAt: _, ...held } = jwt;
    assert.equal(access.expiresAt(jwt), at);
    assert.equal(access.expiresAt(held), undefined);
    clock.advance(59_999);
    assert.equal(access.stillValid(jwt), true);
    clock.advance(1);
    assert.equal(access.stillValid(jwt), false, 'refused from its expiresAt on, as a client token is');
    assert.equal(access.stillValid(held), true);
  });

  it('findHash compares every stored hash and finds the right one', () => {
    const hashes = ['a', 'b', 'c'].map(sha256Hex);
    assert.equal(findHash(sha256Hex('b'), hashes), 1);
    assert.equal(findHash(sha256Hex('z'), hashes), -1);
    assert.equal(findHash('00', hashes), -1);
  });
});

describe('ExpiryWatch', () => {
  it('wakes once each watched time passes, also beyond setTimeout\'s 24.8-day limit', () => {
    const clock = new ManualClock(0);
    let woken = 0;
    const watch = new ExpiryWatch(clock, () => { woken++; });
    watch.watch(40 * DAY);
    watch.watch(2 * DAY);
    clock.advance(2 * DAY);
    assert.equal(woken, 1);
    clock.advance(25 * DAY);
    assert.equal(woken, 1, 'a capped timer wakes early and waits again');
    clock.advance(13 * DAY);
    assert.equal(woken, 2);
    assert.equal(clock.pending, 0);
  });
});
