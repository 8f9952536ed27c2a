/**
 * The 1Password provider against the SDK client double (test/doubles/onepassword.ts): batching,
 * the one shared client, sign-in sources, writes, and every bad input of issue 4, each asserting
 * the message a user sees and that no value (nor the token) is in it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { McpdError } from '../../core/errors.js';
import type { Env } from '../../core/paths.js';
import type { ProviderConfig, ProviderConfigOf } from '../../providers/backends.js';
import { createOnePassword } from '../../providers/onepassword.js';
import type { Ref, Resolution } from '../../providers/provider.js';
import { type ProviderContext, ProviderRegistry } from '../../providers/registry.js';
import { resolveText } from '../../providers/resolver.js';
import { OnePasswordDouble } from '../doubles/onepassword.js';
import { conformance } from './conformance.js';

const TOKEN = 'ops_eyJzaWduSW5BZGRyZXNzIjoidGVzdCJ9-double-token';
const ACCOUNT = 'Acme';
const VALUES = ['lin_api_value_1111', 'prod-token-value-2222', 'staging-token-value-3333', 'written-value-4444'];
const [LINEAR, PROD, STAGING, WRITTEN] = VALUES as [string, string, string, string];

const dir = await mkdtemp(join(tmpdir(), 'mcpd-op-'));
const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  await Promise.all(cleanups.map((close) => close()));
  await rm(dir, { recursive: true, force: true });
});

/** A fresh double holding Work/Linear, and a way to open `op` providers on it. */
function setup() {
  const double = new OnePasswordDouble({ tokens: [TOKEN], accounts: [ACCOUNT] });
  double.addItem('Work', 'Linear', { 'api key': LINEAR }, { Production: { token: PROD }, Staging: { token: STAGING } });
  const notes: string[] = [];
  const open = (config: Partial<ProviderConfigOf<'1password'>> = {}, env: Env = { OP_SERVICE_ACCOUNT_TOKEN: TOKEN }, providers: Record<string, ProviderConfig> = {}) => {
    const registry = new ProviderRegistry(providers, { env });
    const ctx: ProviderContext = { env, registry, note: (m) => notes.push(m), warn: (m) => notes.push(`warning: ${m}`), resolveSetting: (text, where) => resolveText(text, registry, where) };
    const provider = createOnePassword('op', { type: '1password', ...config }, ctx, { createClient: double.createClient });
    cleanups.push(() => provider.close(), () => registry.close());
    return provider;
  };
  return { double, notes, open };
}

const op = (path: string): Ref => ({ raw: path, provider: 'op', path });
const show = (path: string) => `\${${path}}`;
const API_KEY = 'op://Work/Linear/api key';

function clean(error: McpdError): McpdError {
  const text = error.format();
  for (const secret of [...VALUES, TOKEN]) assert.ok(!text.includes(secret), `a secret leaked into: ${text}`);
  return error;
}

function failure(outcome: unknown, code: string, message: string): McpdError {
  assert.ok(outcome instanceof McpdError, `expected ${code}, got ${JSON.stringify(outcome)}`);
  assert.equal(outcome.message, message);
  assert.equal(outcome.code, code);
  return clean(outcome);
}

async function rejection(promise: Promise<unknown>, code: string, message: string): Promise<McpdError> {
  const error = await promise.then(() => assert.fail(`expected ${code}, but it succeeded`), (e: unknown) => e);
  return failure(error, code, message);
}

function value(outcome: Resolution | undefined): string {
  if (outcome === undefined || outcome instanceof McpdError) assert.fail(`expected a value, got ${outcome?.message}`);
  return outcome.value;
}

conformance('1password (double)', async () => {
  const { double, open } = setup();
  const provider = open();
  const item = (ref: Ref) => ref.path.split('/')[3]!;
  return {
    ref: (path) => op(`op://Conformance/${path}/password`),
    provider: {
      name: provider.name,
      resolve: (refs) => provider.resolve(refs),
      // mcpd writes only fields that exist: the item is made first, as a user makes it in 1Password.
      store: async (ref, secret) => {
        if (!double.getItem('Conformance', item(ref))) double.addItem('Conformance', item(ref), { password: '' });
        return provider.store!(ref, secret);
      },
      close: () => provider.close(),
    },
  };
});

describe('1password reads', () => {
  it('resolves a launch\'s references in one resolveAll, in order, each distinct reference asked once', async () => {
    const { double, open } = setup();
    const { id: itemId, vaultId } = double.getItem('Work', 'Linear')!;
    const refs = [API_KEY, 'op://Work/Linear/Production/token', 'op://work/LINEAR/Staging/Token', `op://${vaultId}/${itemId}/api key`, API_KEY].map(op);
    const outcomes = await open().resolve(refs);
    assert.deepEqual(outcomes.map(value), [LINEAR, PROD, STAGING, LINEAR, LINEAR]);
    assert.equal(double.calls.resolveAll, 1);
    assert.deepEqual(double.resolveAllArgs[0], [...new Set(refs.map((r) => r.path))]);
  });

  it('creates one client, on first use, shared by concurrent calls and kept across calls', async () => {
    const { double, open } = setup();
    const provider = open();
    assert.equal(double.calls.createClient, 0, 'nothing is created before a reference is used');
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => provider.resolve([op(API_KEY)])));
    for (let i = 0; i < 5; i++) outcomes.push(await provider.resolve([op(API_KEY)]));
    assert.deepEqual(outcomes.map(([o]) => value(o)), Array(15).fill(LINEAR));
    assert.deepEqual({ clients: double.calls.createClient, reads: double.calls.resolveAll }, { clients: 1, reads: 15 });
    await provider.close();
    value((await provider.resolve([op(API_KEY)]))[0]);
    assert.equal(double.calls.createClient, 2, 'close() drops the client');
  });

  it('a reference written without op:// under another provider name', async () => {
    const { open } = setup();
    assert.equal(value((await open().resolve([{ raw: 'work:Work/Linear/api key', provider: 'work', path: 'Work/Linear/api key' }]))[0]), LINEAR);
  });
});

describe('1password bad inputs', () => {
  const FORMAT = 'secret reference has invalid format - must be "op://<vault>/<item>/[section/]field[?attribute=<attribute-value>]"';
  const bad = (path: string, reason: string) => `${show(path)} is not a valid 1Password secret reference: ${reason}`;

  it('malformed references are refused offline: no client, no call; good ones in the batch still resolve', async () => {
    const { double, open } = setup();
    const provider = open();
    const cases: Array<[string, string]> = [
      ['op://Work/Linear', FORMAT],
      ['op://Work/Linear/Production/token/extra', FORMAT],
      ['op://Work//api key', 'its item name is empty'],
      ['op://Work/Linear/api key?color=red', 'secret reference has invalid query parameter key'],
      ['op://Work/Café/api key', 'invalid character in secret reference: secret references must only contain alphanumeric, _, . or - characters'],
    ];
    const outcomes = await provider.resolve(cases.map(([path]) => op(path)));
    outcomes.forEach((outcome, i) => assert.match(failure(outcome, 'REF_MALFORMED', bad(...cases[i]!)).hint ?? '', /op:\/\/VAULT\/ITEM\/\[SECTION\/\]FIELD/));
    assert.deepEqual(double.calls, { createClient: 0, resolveAll: 0, resolve: 0, itemsGet: 0, itemsPut: 0 });
    const [broken, good] = await provider.resolve([op('op://Work/Linear'), op(API_KEY)]);
    failure(broken, 'REF_MALFORMED', bad('op://Work/Linear', FORMAT));
    assert.equal(value(good), LINEAR);
    assert.deepEqual(double.resolveAllArgs, [[API_KEY]]);
  });

  it('unknown vault, item, section and field: SECRET_NOT_FOUND each naming the reference, in one call', async () => {
    const { double, open } = setup();
    const paths = ['op://Personal/Linear/api key', 'op://Work/Jira/api key', 'op://Work/Linear/QA/token', 'op://Work/Linear/username', API_KEY];
    const outcomes = await open().resolve(paths.map(op));
    failure(outcomes[0], 'SECRET_NOT_FOUND', `${show(paths[0]!)}: no vault "Personal" in 1Password, or none this account may read`);
    failure(outcomes[1], 'SECRET_NOT_FOUND', `${show(paths[1]!)}: no item "Jira" in 1Password vault "Work"`);
    failure(outcomes[2], 'SECRET_NOT_FOUND', `${show(paths[2]!)}: item "Linear" in vault "Work" has no section "QA"`);
    const field = failure(outcomes[3], 'SECRET_NOT_FOUND', `${show(paths[3]!)}: item "Linear" in vault "Work" has no field "username"`);
    assert.match(field.hint ?? '', /check the field name/);
    assert.equal(value(outcomes[4]), LINEAR);
    assert.equal(double.calls.resolveAll, 1);
  });

  it('a field name two sections share is ambiguous, with the fix', async () => {
    const { open } = setup();
    const [outcome] = await open().resolve([op('op://Work/Linear/token')]);
    const error = failure(outcome, 'PROVIDER_FAILED', `${show('op://Work/Linear/token')} is ambiguous: more than one field in 1Password matches "token"`);
    assert.match(error.hint ?? '', /or name its section/);
  });

  it('an invalid token, refused when the client is made: PROVIDER_FAILED naming where the token came from', async () => {
    const { double, open } = setup();
    const wrong = 'ops_not-the-right-token-5555';
    const provider = open({}, { OP_SERVICE_ACCOUNT_TOKEN: wrong });
    const [outcome] = await provider.resolve([op(API_KEY)]);
    const error = failure(outcome, 'PROVIDER_FAILED', `${show(API_KEY)}: 1Password rejected the service account token from $OP_SERVICE_ACCOUNT_TOKEN (invalid service account token, please make sure you provide a valid service account token as parameter: service account deserialization failed, please create another token)`);
    assert.match(error.hint ?? '', /^check the token in \$OP_SERVICE_ACCOUNT_TOKEN/);
    assert.ok(!error.format().includes(wrong), 'the token is not in the message');
    // A failed sign-in is not kept: the next call tries again (the daemon's failure cache spaces them).
    await provider.resolve([op(API_KEY)]);
    assert.deepEqual({ clients: double.calls.createClient, reads: double.calls.resolveAll }, { clients: 2, reads: 0 });
  });

  it('a token refused on every call (revoked): PROVIDER_FAILED for each reference', async () => {
    const { double, open } = setup();
    double.invalidToken = 'onCall';
    const outcomes = await open().resolve([op(API_KEY), op('op://Work/Linear/Production/token')]);
    outcomes.forEach((outcome, i) => failure(outcome, 'PROVIDER_FAILED', `${show(i ? 'op://Work/Linear/Production/token' : API_KEY)}: 1Password rejected the service account token from $OP_SERVICE_ACCOUNT_TOKEN (error when retrieving vault metadata: http error: unexpected http status: 401 Unauthorized)`));
  });

  it('rate limited: PROVIDER_UNAVAILABLE saying the quota, with what to do', async () => {
    const { double, open } = setup();
    double.rateLimited = true;
    const [outcome] = await open().resolve([op(API_KEY)]);
    const error = failure(outcome, 'PROVIDER_UNAVAILABLE', `${show(API_KEY)}: 1Password rate limit reached (service accounts allow 1,000–10,000 reads an hour)`);
    assert.match(error.hint ?? '', /^wait .*cacheTtl/);
  });
});

describe('1password desktop app', () => {
  it('an expired session: the client is made again once and the call succeeds, concurrent callers sharing it', async () => {
    const { double, notes, open } = setup();
    const provider = open({}, { OP_ACCOUNT: ACCOUNT });
    assert.equal(value((await provider.resolve([op(API_KEY)]))[0]), LINEAR);
    double.expireSession('once');
    const outcomes = await Promise.all([provider.resolve([op(API_KEY)]), provider.resolve([op('op://Work/Linear/Production/token')])]);
    assert.deepEqual(outcomes.map(([o]) => value(o)), [LINEAR, PROD]);
    assert.deepEqual(double.signIns, [`desktop:${ACCOUNT}`, `desktop:${ACCOUNT}`]);
    assert.ok(notes.some((n) => n.includes('session expired; signing in again')));
  });

  it('a session that stays expired: made again once, then PROVIDER_UNAVAILABLE saying to unlock the app', async () => {
    const { double, open } = setup();
    const provider = open({ account: ACCOUNT }, {});
    double.expireSession('always');
    const [outcome] = await provider.resolve([op(API_KEY)]);
    const error = failure(outcome, 'PROVIDER_UNAVAILABLE', `${show(API_KEY)}: the 1Password desktop app session expired (account "Acme"); unlock the app`);
    assert.match(error.hint ?? '', /unlock it/);
    assert.deepEqual({ clients: double.calls.createClient, reads: double.calls.resolveAll }, { clients: 2, reads: 2 });
  });

  it('an account the app does not know: PROVIDER_UNAVAILABLE naming it and its source', async () => {
    const { open } = setup();
    const [outcome] = await open({}, { OP_ACCOUNT: 'Nobody' }).resolve([op(API_KEY)]);
    failure(outcome, 'PROVIDER_UNAVAILABLE', `${show(API_KEY)}: the 1Password desktop app did not answer for account "Nobody" from $OP_ACCOUNT (account couldn't be found)`);
  });
});

describe('1password sign-in sources', () => {
  it('serviceAccountToken may be a reference (${env:…}, ${local:…}) and beats $OP_SERVICE_ACCOUNT_TOKEN', async () => {
    const { double, open } = setup();
    value((await open({ serviceAccountToken: '${env:MY_OP_TOKEN}' }, { MY_OP_TOKEN: TOKEN, OP_SERVICE_ACCOUNT_TOKEN: 'ops_ignored' }).resolve([op(API_KEY)]))[0]);
    const local = { type: 'local', key: 'file', path: join(dir, 'store.json') } as const;
    const store = new ProviderRegistry({ local }, { env: {} });
    cleanups.push(() => store.close());
    await (await store.get('local')).store!({ raw: 'local:1password/sa-token', provider: 'local', path: '1password/sa-token' }, TOKEN);
    value((await open({ serviceAccountToken: '${local:1password/sa-token}' }, {}, { local }).resolve([op(API_KEY)]))[0]);
    assert.deepEqual(double.signIns, [TOKEN, TOKEN]);
  });

  it('$OP_SERVICE_ACCOUNT_TOKEN beats $OP_ACCOUNT; a configured account beats both', async () => {
    const { double, open } = setup();
    value((await open({}, { OP_SERVICE_ACCOUNT_TOKEN: TOKEN, OP_ACCOUNT: 'Nobody' }).resolve([op(API_KEY)]))[0]);
    value((await open({ account: ACCOUNT }, { OP_SERVICE_ACCOUNT_TOKEN: 'ops_ignored' }).resolve([op(API_KEY)]))[0]);
    assert.deepEqual(double.signIns, [TOKEN, `desktop:${ACCOUNT}`]);
  });

  it('a token setting that does not resolve fails naming the setting', async () => {
    const { double, open } = setup();
    const [outcome] = await open({ serviceAccountToken: '${MY_OP_TOKEN}' }, {}).resolve([op(API_KEY)]);
    failure(outcome, 'ENV_UNSET', `${show(API_KEY)}: providers.op.serviceAccountToken: environment variable MY_OP_TOKEN is not set (referenced as \${MY_OP_TOKEN})`);
    assert.equal(double.calls.createClient, 0);
  });

  it('neither a token nor an account: PROVIDER_UNAVAILABLE naming both ways (the built-in "op" provider)', async () => {
    const registry = new ProviderRegistry({}, { env: {} });
    cleanups.push(() => registry.close());
    const [outcome] = await (await registry.get('op')).resolve([op(API_KEY)]);
    const error = failure(outcome, 'PROVIDER_UNAVAILABLE', `${show(API_KEY)}: 1Password provider "op" has no way to sign in: no service account token and no desktop app account`);
    assert.equal(error.hint, 'set providers.op.serviceAccountToken (e.g. "${keychain:1password/sa-token}") or $OP_SERVICE_ACCOUNT_TOKEN; or, to use the desktop app, providers.op.account or $OP_ACCOUNT');
  });
});

describe('1password writes', () => {
  it('store sets the referenced field with items.put, leaves the rest, and returns the item\'s version', async () => {
    const { double, open } = setup();
    const provider = open();
    assert.equal(await provider.store!(op('op://Work/Linear/Production/token'), WRITTEN), '2');
    const item = double.getItem('Work', 'Linear')!;
    assert.deepEqual(item.fields.map((f) => f.value).sort(), [LINEAR, STAGING, WRITTEN].sort());
    assert.equal(value((await provider.resolve([op('op://Work/Linear/Production/token')]))[0]), WRITTEN);
    assert.equal(double.calls.itemsPut, 1);
  });

  it('a missing item or field: SECRET_NOT_FOUND saying mcpd does not create items; nothing written', async () => {
    const { double, open } = setup();
    const provider = open();
    const item = await rejection(provider.store!(op('op://Work/Jira/api key'), WRITTEN), 'SECRET_NOT_FOUND', `${show('op://Work/Jira/api key')}: no item "Jira" in 1Password vault "Work"`);
    assert.match(item.hint ?? '', /^mcpd does not create 1Password items/);
    await rejection(provider.store!(op('op://Work/Linear/username'), WRITTEN), 'SECRET_NOT_FOUND', `${show('op://Work/Linear/username')}: item "Linear" in vault "Work" has no field "username"`);
    await rejection(provider.store!(op('op://Work/Linear/api key?attribute=otp'), WRITTEN), 'REF_MALFORMED', `${show('op://Work/Linear/api key?attribute=otp')} selects a value 1Password computes (?attribute=otp), which cannot be written`);
    assert.equal(double.calls.itemsPut, 0);
  });

  it('two writers of one item: check-and-set lets one win, the other is told to retry', async () => {
    const { open } = setup();
    const provider = open();
    const [first, second] = await Promise.allSettled([provider.store!(op(API_KEY), WRITTEN), provider.store!(op('op://Work/Linear/Staging/token'), WRITTEN)]);
    assert.deepEqual(first, { status: 'fulfilled', value: '2' });
    assert.equal(second.status, 'rejected');
    failure(second.reason, 'PROVIDER_FAILED', `${show('op://Work/Linear/Staging/token')}: 1Password refused the write: the item changed since it was read (a conflict occurred on the server. this usually happens due to a race condition in requests)`);
  });

  it('a write meets the same errors as a read: rate limit, expired session recovered', async () => {
    const { double, open } = setup();
    double.rateLimited = true;
    await rejection(open().store!(op(API_KEY), WRITTEN), 'PROVIDER_UNAVAILABLE', `${show(API_KEY)}: 1Password rate limit reached (service accounts allow 1,000–10,000 reads an hour)`);
    double.rateLimited = false;
    const desktop = open({ account: ACCOUNT });
    value((await desktop.resolve([op(API_KEY)]))[0]);
    double.expireSession('once');
    assert.equal(await desktop.store!(op(API_KEY), WRITTEN), '2');
  });
});
