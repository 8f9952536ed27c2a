/**
 * One suite every provider runs (teller's model): the same cases against the real keychain,
 * the local store, and later the Vault and 1Password doubles. A read-only provider runs the
 * read cases with entries it is given; a storing provider also runs put/update/delete/list.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it, after } from 'node:test';
import { McpdError } from '../../core/errors.js';
import type { Provider, Ref, Resolved } from '../../providers/provider.js';

export interface ConformanceSetup {
  provider: Provider;
  /** Builds a reference to `path` in this provider's syntax (`local:` + path, …). */
  ref(path: string): Ref;
  /** For read-only providers: writes an entry by the backend's own means. */
  seed?(path: string, value: string): Promise<void>;
  cleanup?(): Promise<void>;
}

function unique(label: string): string {
  return `conformance-${label}-${randomBytes(4).toString('hex')}`;
}

function assertResolved(outcome: unknown): asserts outcome is Resolved {
  if (outcome instanceof McpdError) assert.fail(`expected a value, got ${outcome.code}: ${outcome.message}`);
}

/** `setup` runs once, lazily, so a suite that skips (no keychain here) does no work. */
export interface ConformanceOptions {
  skip?: string | undefined;
  /** The code a missing entry gets; an exec command cannot tell "missing" from "failed". */
  missingCode?: string;
}

export function conformance(label: string, setup: () => Promise<ConformanceSetup>, options: ConformanceOptions = {}): void {
  const missingCode = options.missingCode ?? 'SECRET_NOT_FOUND';
  describe(`${label} conformance`, { skip: options.skip ?? false }, () => {
    let ready: Promise<ConformanceSetup> | undefined;
    const get = () => (ready ??= setup());
    after(async () => {
      if (!ready) return;
      const s = await ready;
      await s.cleanup?.();
      await s.provider.close();
    });

    async function put(s: ConformanceSetup, path: string, value: string): Promise<void> {
      if (s.provider.store) await s.provider.store(s.ref(path), value);
      else if (s.seed) await s.seed(path, value);
      else assert.fail(`${label}: neither store() nor seed() given`);
    }

    it('resolves a stored value exactly, including unicode and newlines inside', async () => {
      const s = await get();
      const path = unique('get');
      const value = `v-${randomBytes(8).toString('hex')}\u00e9 \u2603\ninner line`;
      await put(s, path, value);
      const [outcome] = await s.provider.resolve([s.ref(path)]);
      assertResolved(outcome);
      assert.equal(outcome.value, value);
    });

    it(`reports a missing entry as ${missingCode} naming the reference, alongside found ones`, async () => {
      const s = await get();
      const present = unique('present');
      await put(s, present, 'present-value-123');
      const missing = s.ref(unique('missing'));
      const outcomes = await s.provider.resolve([missing, s.ref(present)]);
      assert.equal(outcomes.length, 2);
      const [miss, hit] = outcomes;
      assert.ok(miss instanceof McpdError, 'missing entry must be an McpdError');
      assert.equal(miss.code, missingCode);
      assert.ok(miss.message.includes(missing.raw), `message names the reference: ${miss.message}`);
      assertResolved(hit);
      assert.equal(hit.value, 'present-value-123');
    });

    it('an update replaces the value and moves the version on', async (t) => {
      const s = await get();
      if (!s.provider.store) return t.skip(`${label} is read-only`);
      const path = unique('update');
      const v1 = await s.provider.store(s.ref(path), 'first-value-aaa');
      const v2 = await s.provider.store(s.ref(path), 'second-value-bbb');
      assert.notEqual(v1, v2);
      const [outcome] = await s.provider.resolve([s.ref(path)]);
      assertResolved(outcome);
      assert.equal(outcome.value, 'second-value-bbb');
    });

    it('a versioned store honours ifVersion: the current version writes, a stale one is SECRET_CONFLICT and changes nothing', async (t) => {
      const s = await get();
      if (!s.provider.store) return t.skip(`${label} is read-only`);
      const path = unique('cas');
      await s.provider.store(s.ref(path), 'cas-first-aaa');
      const [first] = await s.provider.resolve([s.ref(path)]);
      assertResolved(first);
      if (first.version === undefined) return t.skip(`${label} keeps no versions`);
      await s.provider.store(s.ref(path), 'cas-second-bbb', { ifVersion: first.version });
      await assert.rejects(s.provider.store(s.ref(path), 'cas-stale-ccc', { ifVersion: first.version }), (e: unknown) => {
        assert.ok(e instanceof McpdError && e.code === 'SECRET_CONFLICT', String(e));
        assert.ok(e.message.includes(s.ref(path).raw) && !/cas-(first|second|stale)/.test(e.message), e.message);
        return true;
      });
      const [after] = await s.provider.resolve([s.ref(path)]);
      assertResolved(after);
      assert.equal(after.value, 'cas-second-bbb');
    });

    it('remove deletes the entry; removing again is SECRET_NOT_FOUND', async (t) => {
      const s = await get();
      if (!s.provider.remove || !s.provider.store) return t.skip(`${label} cannot remove`);
      const path = unique('remove');
      await s.provider.store(s.ref(path), 'doomed-value-ccc');
      await s.provider.remove(s.ref(path));
      const [outcome] = await s.provider.resolve([s.ref(path)]);
      assert.ok(outcome instanceof McpdError && outcome.code === 'SECRET_NOT_FOUND');
      await assert.rejects(s.provider.remove(s.ref(path)), (e: unknown) => e instanceof McpdError && e.code === 'SECRET_NOT_FOUND');
    });

    it('list returns references under a prefix and never values', async (t) => {
      const s = await get();
      if (!s.provider.list || !s.provider.store) return t.skip(`${label} cannot list`);
      const prefix = unique('list');
      const value = `listed-${randomBytes(8).toString('hex')}`;
      await s.provider.store(s.ref(`${prefix}/a`), value);
      await s.provider.store(s.ref(`${prefix}/b`), value);
      const refs = await s.provider.list(prefix);
      assert.deepEqual(refs.map((r) => r.path).sort(), [`${prefix}/a`, `${prefix}/b`]);
      assert.ok(!JSON.stringify(refs).includes(value), 'list must not carry values');
    });
  });
}
