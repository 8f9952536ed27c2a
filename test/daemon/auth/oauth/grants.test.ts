/** The OAuth grant store: tokens kept as SHA-256 only, 0600, a rotation remembered across a restart, a damaged file named. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { McpdError } from '../../../../core/errors.js';
import { GrantStore } from '../../../../daemon/auth/oauth/grants.js';

const TERMS = { clientId: 'c1', clientName: 'Test Client', scopes: ['mcp:tools'], resource: 'http://127.0.0.1:1/mcp/a', roles: ['user'] };
const TTL = { access: 60_000, refresh: 3_600_000 };

describe('GrantStore', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'mcpd-grants-')); });
  after(() => rm(dir, { recursive: true, force: true }));

  it('writes hashes only, 0600, and a reopened store knows a used refresh token', async () => {
    const file = join(dir, 'oauth.json');
    const store = await GrantStore.open(file);
    const first = await store.issue(TERMS, Date.now(), TTL);
    const second = await store.rotate(first.grant, Date.now(), TTL);
    await store.flush();
    const text = await readFile(file, 'utf8');
    for (const token of [first.accessToken, first.refreshToken, second.accessToken, second.refreshToken]) assert.ok(!text.includes(token), 'a token in plaintext');
    assert.equal((await stat(file)).mode & 0o777, 0o600);

    const reopened = await GrantStore.open(file);
    assert.equal(reopened.byAccess(second.accessToken)?.id, first.grant.id);
    assert.equal(reopened.byAccess(first.accessToken), undefined, 'the old access token died at the rotation');
    assert.deepEqual(reopened.byRefresh(first.refreshToken)?.used, true);
    assert.deepEqual(reopened.byRefresh(second.refreshToken)?.used, false);
  });

  it('a grant revoked or expired a week ago is forgotten at the next consent; a younger one stays listed', async () => {
    const store = await GrantStore.open(join(dir, 'aging.json'));
    const day = 24 * 3600_000;
    const start = Date.parse('2026-01-01T00:00:00Z');
    const old = await store.issue(TERMS, start, { access: 60_000, refresh: day });
    const recent = await store.issue(TERMS, start, TTL);
    await store.revoke(recent.grant.id, start + 6 * day, 'test');
    await store.issue(TERMS, start + 8 * day, TTL);
    const ids = store.grants.map((g) => g.id);
    assert.ok(!ids.includes(old.grant.id), 'expired 7 days ago: forgotten');
    assert.ok(ids.includes(recent.grant.id), 'revoked 2 days ago: still listed');
    assert.equal(ids.length, 2);
  });

  it('a registration that led to no grant is forgotten after a day, and at most the newest 1,000 such are kept; one with a grant stays', async () => {
    const file = join(dir, 'clients.json');
    const store = await GrantStore.open(file);
    const start = Date.parse('2026-01-01T00:00:00Z');
    const client = (id: string, at?: number) => ({ client_id: id, redirect_uris: ['http://127.0.0.1:9/cb'], ...(at === undefined ? {} : { client_id_issued_at: Math.floor(at / 1000) }) });
    await store.addClient(client('c1', start), start);
    await store.addClient(client('idle', start), start);
    await store.addClient(client('undated'), start);
    await store.issue(TERMS, start, TTL); // c1's consent
    const later = start + 24 * 3600_000 + 1;
    await store.addClient(client('fresh', later), later);
    assert.equal(store.client('idle'), undefined, 'a day old and never granted: forgotten');
    for (const id of ['c1', 'undated', 'fresh']) assert.ok(store.client(id), `${id} kept`);

    for (let i = 0; i < 1005; i++) await store.addClient(client(`flood-${i}`, later), later);
    assert.equal(store.client('fresh'), undefined, 'the oldest idle registrations go past 1,000');
    assert.equal(store.client('undated'), undefined);
    for (const id of ['c1', 'flood-5', 'flood-1004']) assert.ok(store.client(id), `${id} kept`);
    assert.equal(store.client('flood-4'), undefined);
    await store.flush();
    const saved = JSON.parse(await readFile(file, 'utf8')) as { clients: unknown[] };
    assert.equal(saved.clients.length, 1001, 'the file holds the granted client and the newest 1,000');
  });

  it('a damaged file is an error naming it', async () => {
    const file = join(dir, 'damaged.json');
    await writeFile(file, '{"format":"mcpd-oauth"');
    const error = await GrantStore.open(file).then(() => assert.fail('opened'), (e: unknown) => e);
    assert.ok(error instanceof McpdError);
    assert.equal(error.code, 'STORE_CORRUPT');
    assert.equal(error.message, `the OAuth grant store ${file} is damaged`);
  });
});
