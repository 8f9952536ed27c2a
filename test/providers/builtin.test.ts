import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { McpdError } from '../../core/errors.js';
import type { Ref, Resolution } from '../../providers/provider.js';
import { ProviderRegistry } from '../../providers/registry.js';

const dir = await mkdtemp(join(tmpdir(), 'mcpd-builtin-'));
after(() => rm(dir, { recursive: true, force: true }));

async function resolve(env: Record<string, string>, ref: Ref): Promise<Resolution> {
  const registry = new ProviderRegistry({}, { env });
  const [outcome] = await (await registry.get(ref.provider)).resolve([ref]);
  return outcome!;
}

function value(outcome: Resolution): string {
  if (outcome instanceof McpdError) assert.fail(outcome.message);
  return outcome.value;
}

describe('built-in providers', () => {
  it('env: a set variable, a default, and an unset one named in the error', async () => {
    assert.equal(value(await resolve({ A: 'x' }, { raw: 'A', provider: 'env', path: 'A' })), 'x');
    assert.equal(value(await resolve({}, { raw: 'A:-d', provider: 'env', path: 'A', fallback: 'd' })), 'd');
    const unset = await resolve({}, { raw: 'A', provider: 'env', path: 'A' });
    assert.ok(unset instanceof McpdError);
    assert.equal(unset.code, 'ENV_UNSET');
    assert.equal(unset.message, 'environment variable A is not set (referenced as ${A})');
  });

  it('env: a name Object.prototype answers for (constructor, toString) is unset, not a function', async () => {
    for (const name of ['constructor', 'toString', '__proto__']) {
      const unset = await resolve({}, { raw: name, provider: 'env', path: name });
      assert.ok(unset instanceof McpdError, name);
      assert.equal(unset.message, `environment variable ${name} is not set (referenced as \${${name}})`);
    }
  });

  it('file: content with one trailing newline trimmed, ~ expanded, missing file named', async () => {
    await writeFile(join(dir, 'token'), 'file-secret-value\n\n');
    assert.equal(value(await resolve({ HOME: dir }, { raw: 'file:~/token', provider: 'file', path: '~/token' })), 'file-secret-value\n');
    const missing = await resolve({ HOME: dir }, { raw: 'file:~/nope', provider: 'file', path: '~/nope' });
    assert.ok(missing instanceof McpdError);
    assert.equal(missing.code, 'SECRET_NOT_FOUND');
    assert.equal(missing.message, `\${file:~/nope}: file ${join(dir, 'nope')} does not exist`);
  });

  it('credential: reads $CREDENTIALS_DIRECTORY/NAME; says what to do without systemd', async () => {
    await writeFile(join(dir, 'api'), 'credential-value');
    assert.equal(value(await resolve({ CREDENTIALS_DIRECTORY: dir }, { raw: 'credential:api', provider: 'credential', path: 'api' })), 'credential-value');
    const none = await resolve({}, { raw: 'credential:api', provider: 'credential', path: 'api' });
    assert.ok(none instanceof McpdError);
    assert.equal(none.code, 'PROVIDER_UNAVAILABLE');
    assert.match(none.hint!, /LoadCredential=api/);
    const escape = await resolve({ CREDENTIALS_DIRECTORY: dir }, { raw: 'credential:../x', provider: 'credential', path: '../x' });
    assert.ok(escape instanceof McpdError && escape.code === 'REF_MALFORMED');
  });
});
