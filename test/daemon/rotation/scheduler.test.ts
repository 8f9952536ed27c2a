/**
 * Rotation on a manual clock, against real stores (the local encrypted store in a temp dir; the
 * Vault double for the shared path) and real `apply` / `revoke` commands
 * (test/fixtures/rotation-hook.js logs hashes of what it was given, never values).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { McpdError } from '../../../core/errors.js';
import type { RotationConfig } from '../../../daemon/config/schema.js';
import { RotationScheduler, type SchedulerDeps } from '../../../daemon/rotation/scheduler.js';
import type { Ref } from '../../../providers/provider.js';
import { ProviderRegistry } from '../../../providers/registry.js';
import { VaultDouble } from '../../doubles/vault.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { fixture } from '../../helpers/repo.js';

const DAY = 86_400_000;
const T0 = Date.parse('2030-01-01T00:00:00Z');
const hook = fixture('rotation-hook.js');
const hash = (value: string) => createHash('sha256').update(value).digest('hex').slice(0, 16);
const dirs: string[] = [];
after(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

interface World {
  dir: string;
  clock: ManualClock;
  registry: ProviderRegistry;
  notes: string[];
  rolled: string[];
  holders: { count: number };
  scheduler: (config: Record<string, RotationConfig>) => RotationScheduler;
  value: (raw: string) => Promise<string | undefined>;
  log: (file: string) => Promise<Array<{ name: string; old: string; new: string }>>;
  /** Resolves when a note matching `pattern` has been logged (now or later). */
  noted: (pattern: RegExp) => Promise<void>;
}

async function world(options: { dir?: string; clock?: ManualClock; env?: Record<string, string> } = {}): Promise<World> {
  const dir = options.dir ?? await mkdtemp(join(tmpdir(), 'mcpd-rot-'));
  dirs.push(dir);
  const clock = options.clock ?? new ManualClock(T0);
  const registry = new ProviderRegistry({ local: { type: 'local', key: 'file', path: join(dir, 'store.json') } }, { env: { HOME: dir, ...options.env } });
  const notes: string[] = [];
  const waiters: Array<{ pattern: RegExp; resolve: () => void }> = [];
  const rolled: string[] = [];
  const holders = { count: 0 };
  const deps: SchedulerDeps = {
    stateDir: join(dir, 'state'), clock, providerOf: (name) => registry.get(name),
    roll: async (ref: Ref) => { rolled.push(ref.raw); return 1; },
    holders: () => holders.count,
    note: (message) => {
      notes.push(message);
      for (const w of waiters.filter((x) => x.pattern.test(message))) { waiters.splice(waiters.indexOf(w), 1); w.resolve(); }
    },
    commandEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  };
  return {
    dir, clock, registry, notes, rolled, holders,
    scheduler: (config) => new RotationScheduler(config, deps),
    value: async (raw) => {
      const [provider, ...rest] = raw.split(':');
      const [outcome] = await (await registry.get(provider!)).resolve([{ raw, provider: provider!, path: rest.join(':') }]);
      return outcome instanceof McpdError ? undefined : outcome!.value;
    },
    log: async (file) => (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { name: string; old: string; new: string }),
    noted: (pattern) => (notes.some((n) => pattern.test(n)) ? Promise.resolve() : new Promise((resolve) => waiters.push({ pattern, resolve }))),
  };
}

async function store(w: World, path: string, value: string): Promise<void> {
  await (await w.registry.get('local')).store!({ raw: `local:${path}`, provider: 'local', path }, value);
}

const generate = (w: World, extra: Partial<Extract<RotationConfig, { strategy: 'generate' }>> = {}): RotationConfig => ({
  strategy: 'generate', every: '90d', warnBefore: '14d', grace: '1h', length: 32, encoding: 'hex',
  apply: [process.execPath, hook, join(w.dir, 'apply.log')], revoke: [process.execPath, hook, join(w.dir, 'revoke.log')], ...extra,
});

describe('rotation schedule', () => {
  it('a 90-day generate rotation fires at day 90, not before: stored, applied, rolled, and the old value revoked after grace', async () => {
    const w = await world();
    await store(w, 'api', 'first-value-0000000001');
    const scheduler = w.scheduler({ 'local:api': generate(w) });
    await scheduler.start();
    w.clock.advance(90 * DAY - 1000);
    assert.equal(await w.value('local:api'), 'first-value-0000000001', 'nothing before day 90');
    assert.deepEqual(await w.log(join(w.dir, 'apply.log')), []);

    w.clock.advance(1000);
    await w.noted(/rotation of local:api: rolled/);
    const fresh = (await w.value('local:api'))!;
    assert.match(fresh, /^[0-9a-f]{64}$/, '32 random bytes, hex');
    assert.deepEqual(await w.log(join(w.dir, 'apply.log')), [{ name: 'local:api', old: hash('first-value-0000000001'), new: hash(fresh) }]);
    assert.deepEqual(w.rolled, ['local:api']);
    assert.deepEqual(await w.log(join(w.dir, 'revoke.log')), [], 'the old value is not revoked before its grace period');
    assert.equal(scheduler.status()[0]!.state, 'rolled');

    w.clock.advance(3600_000);
    await w.noted(/rotation of local:api is done/);
    await scheduler.settled();
    assert.deepEqual(await w.log(join(w.dir, 'revoke.log')), [{ name: 'local:api', old: hash('first-value-0000000001'), new: hash(fresh) }]);
    const [status] = scheduler.status();
    assert.equal(status!.state, 'idle');
    assert.equal(status!.next, new Date(T0 + 180 * DAY).toISOString(), 'the next one is 90 days after this one');
    assert.equal(await w.value(`local:mcpd-rotation/local:api/new`), undefined, 'the kept-aside values are gone');
    for (const note of w.notes) assert.ok(!note.includes(fresh) && !note.includes('first-value'), `a value in a note: ${note}`);
    await scheduler.stop();
  });

  it('a daemon stopped over the due date runs the missed rotation at start-up (restarted at day 95)', async () => {
    const w = await world();
    await store(w, 'api', 'missed-value-000000001');
    const first = w.scheduler({ 'local:api': generate(w, { grace: '1s' }) });
    await first.start();
    w.clock.advance(10 * DAY);
    await first.stop();
    w.clock.advance(85 * DAY); // day 95: the daemon is down over day 90

    const restarted = w.scheduler({ 'local:api': generate(w, { grace: '1s' }) });
    await restarted.start();
    await w.noted(/rotation of local:api: rolled/);
    assert.notEqual(await w.value('local:api'), 'missed-value-000000001');
    assert.equal((await w.log(join(w.dir, 'apply.log'))).length, 1);
    w.clock.advance(1000);
    await w.noted(/is done/);
    await restarted.settled();
    assert.equal(restarted.status()[0]!.next, new Date(T0 + (95 + 90) * DAY).toISOString());
    await restarted.stop();
  });

  it('remind: flagged from warnBefore, overdue after the date; rotate --now records it', async () => {
    const w = await world();
    const scheduler = w.scheduler({ 'local:github/pat': { strategy: 'remind', every: '90d', warnBefore: '14d' } });
    await scheduler.start();
    w.clock.advance(75 * DAY);
    assert.equal(scheduler.status()[0]!.state, 'idle');
    w.clock.advance(2 * DAY);
    assert.deepEqual([scheduler.status()[0]!.state, scheduler.status()[0]!.overdue], ['warning', false]);
    w.clock.advance(13 * DAY);
    assert.deepEqual([scheduler.status()[0]!.state, scheduler.status()[0]!.overdue], ['overdue', true]);
    assert.ok(w.notes.some((n) => /^local:github\/pat is overdue for rotation .*mcpd rotate local:github\/pat --now$/.test(n)), w.notes.join('\n'));
    assert.equal(scheduler.status()[0]!.ageDays, 90);
    const after = await scheduler.runNow('local:github/pat');
    assert.deepEqual([after.state, after.last], ['idle', new Date(T0 + 90 * DAY).toISOString()]);
    await assert.rejects(scheduler.runNow('nope'), { code: 'NOT_FOUND', message: 'no rotation named "nope" in the config; configured: local:github/pat' });
    await scheduler.stop();
  });
});

describe('rotation failures', () => {
  it('a failing apply: the old value stays live, the error is reported, and a retry follows', async () => {
    const w = await world();
    await store(w, 'api', 'live-old-value-00000001');
    const flag = join(w.dir, 'fail-once');
    await writeFile(flag, '');
    const scheduler = w.scheduler({ 'local:api': generate(w, { apply: [process.execPath, hook, join(w.dir, 'apply.log'), flag] }) });
    await scheduler.start();
    const result = await scheduler.runNow('local:api');
    assert.equal(result.state, 'stored');
    assert.equal(result.lastError, `rotation.local:api.apply (${process.execPath} ${hook} ${join(w.dir, 'apply.log')} ${flag}) exited with status 1`);
    assert.equal(result.retryAt, new Date(T0 + 60_000).toISOString());
    assert.equal(await w.value('local:api'), 'live-old-value-00000001', 'launches keep getting the old value');
    assert.deepEqual(w.rolled, [], 'no server is rolled onto an unregistered value');

    w.clock.advance(60_000);
    await w.noted(/rotation of local:api: rolled/);
    const fresh = (await w.value('local:api'))!;
    assert.notEqual(fresh, 'live-old-value-00000001');
    assert.deepEqual(await w.log(join(w.dir, 'apply.log')), [{ name: 'local:api', old: hash('live-old-value-00000001'), new: hash(fresh) }], 'the retry registered the value kept aside');
    await scheduler.stop();
  });

  it('a command that prints nothing: refused, nothing stored', async () => {
    const w = await world();
    await store(w, 'api', 'untouched-value-000001');
    const scheduler = w.scheduler({ 'local:api': { strategy: 'command', every: '90d', warnBefore: '14d', grace: '1h', command: [process.execPath, '-e', ''] } });
    await scheduler.start();
    const result = await scheduler.runNow('local:api');
    assert.equal(result.lastError, `rotation.local:api.command (${process.execPath} -e ) printed nothing; nothing was stored`);
    assert.equal(await w.value('local:api'), 'untouched-value-000001');
    assert.equal(await w.value('local:mcpd-rotation/local:api/new'), undefined);
    await scheduler.stop();
  });

  it('the old value is revoked only once no running server holds it', async () => {
    const w = await world();
    await store(w, 'api', 'held-old-value-000001');
    w.holders.count = 1;
    const scheduler = w.scheduler({ 'local:api': generate(w, { grace: '1s' }) });
    await scheduler.start();
    await scheduler.runNow('local:api');
    w.clock.advance(1000);
    await scheduler.settled();
    assert.match(scheduler.status()[0]!.waiting ?? '', /^1 running server process\(es\) still hold the old value$/);
    assert.equal(scheduler.status()[0]!.lastError, undefined, 'waiting is not failing');
    w.clock.advance(120_000);
    assert.deepEqual(await w.log(join(w.dir, 'revoke.log')), [], 'not while a server holds it');
    w.holders.count = 0;
    w.clock.advance(60_000);
    await w.noted(/is done/);
    assert.equal((await w.log(join(w.dir, 'revoke.log'))).length, 1);
    await scheduler.stop();
  });
});

describe('rotation of a shared Vault path', () => {
  it('two daemons sharing one KV v2 path rotate it exactly once (check-and-set)', async () => {
    const vault = await VaultDouble.start();
    try {
      vault.addToken('hvs.shared');
      vault.mountKv('secret', 2);
      const base = vault.putKv('secret/api', { key: 'shared-old-value-0001' });
      const env = { VAULT_ADDR: vault.url, VAULT_TOKEN: 'hvs.shared' };
      const clock = new ManualClock(T0);
      const [a, b] = [await world({ clock, env }), await world({ clock, env })];
      const log = join(a.dir, 'shared-apply.log');
      const config = (w: World): Record<string, RotationConfig> => ({ 'vault:secret/data/api#key': generate(w, { apply: [process.execPath, hook, log], revoke: undefined }) });
      const [sa, sb] = [a.scheduler(config(a)), b.scheduler(config(b))];
      await Promise.all([sa.start(), sb.start()]);
      await Promise.all([sa.runNow('vault:secret/data/api#key'), sb.runNow('vault:secret/data/api#key')]);
      assert.equal((await a.log(log)).length, 1, 'apply ran once');
      const [now] = await (await a.registry.get('vault')).resolve([{ raw: 'vault:secret/data/api#key', provider: 'vault', path: 'secret/data/api#key' }]);
      assert.ok(!(now instanceof McpdError));
      assert.equal(now!.version, String(base + 1), 'one new version on top of the one both began from');
      const current = now!.value;
      assert.equal((await a.log(log))[0]!.new, hash(current), 'the one new value is the one in Vault');
      assert.ok([...a.notes, ...b.notes].some((n) => /was rotated elsewhere first/.test(n)), 'the other daemon adopted it');
      await Promise.all([sa.stop(), sb.stop()]);
      await Promise.all([a.registry.close(), b.registry.close()]);
    } finally {
      await vault.close();
    }
  });
});
