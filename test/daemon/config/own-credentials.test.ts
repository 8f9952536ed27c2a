/**
 * The config's refusal of mcpd's own credentials, judged against what a server would really be
 * given: each generated server definition (references, `$$`, stray `$` and braces, built from
 * pieces so that the parser, not the generator, decides what is a reference) is loaded by the
 * real loader, and launched by the real prepareLaunch (the resolver and buildChildEnv) against a
 * parent environment holding all four credentials. Accepted: the launch holds none of their
 * values. Refused for a reference: the same launch, unchecked, would have held one.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { McpdError } from '../../../core/errors.js';
import { OWN_CREDENTIALS } from '../../../core/own-credentials.js';
import { parseConfig } from '../../../daemon/config/load.js';
import { configSchema, type LocalServerConfig } from '../../../daemon/config/schema.js';
import { prepareLaunch } from '../../../daemon/launcher/launch-spec.js';
import { ProviderRegistry } from '../../../providers/registry.js';

const FILE = '/home/u/.config/mcpd/config.json';
const canaries = Object.fromEntries(OWN_CREDENTIALS.map((name, i) => [name, `own-canary-${i}-3f9c1a`]));
// Every other variable is set too, so that a launch fails only for what the check is about
// (pieces joined may name `${HOMEPATH}`).
// Lookups go by own key (core/own.ts), so the descriptor answers as well as get.
const valueOf = (known: Record<string, string>, name: string | symbol) => (typeof name === 'string' ? known[name] ?? `plain-${name}` : undefined);
const parent: Record<string, string> = new Proxy({ ...canaries, HOME: '/home/u', PATH: '/usr/bin:/bin' }, {
  get: valueOf,
  getOwnPropertyDescriptor: (known, name) => {
    const value = valueOf(known, name);
    return value === undefined ? undefined : { value, writable: true, enumerable: true, configurable: true };
  },
});

// Whole references to a credential are rarer than syntax: most definitions should be accepted.
const piece = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom('${', '}', '$', '$$', ':', ':-', '-', 'env', 'x', '/', ...OWN_CREDENTIALS, 'HOME', 'PATH', '${HOME}', '${env:PATH}') },
  { weight: 1, arbitrary: fc.constantFrom(...OWN_CREDENTIALS.map((name) => `\${${name}}`), '${env:VAULT_TOKEN}', '${MCPD_TOKEN:-fallback}') },
);
const text = fc.array(piece, { maxLength: 8 }).map((pieces) => pieces.join(''));
const server = fc.record({
  command: fc.constant('srv'),
  args: fc.array(text, { maxLength: 2 }),
  env: fc.dictionary(fc.constantFrom('A', 'B', 'VAULT_TOKEN'), text, { maxKeys: 3 }),
  inheritEnv: fc.boolean(),
  cwd: fc.option(text, { nil: undefined }),
});

/** Everything the launched server would be given: its argv, cwd and environment. */
async function launched(definition: LocalServerConfig): Promise<string> {
  const registry = new ProviderRegistry({}, { env: parent });
  try {
    const spec = await prepareLaunch({ name: 'srv', server: definition, where: 'mcpServers.srv' }, registry, parent, () => {});
    return JSON.stringify([spec.command, spec.args, spec.cwd, spec.env]);
  } catch (error) {
    assert.ok(error instanceof McpdError, String(error));
    return `${error.message}\n${error.hint ?? ''}`;
  } finally {
    await registry.close();
  }
}

const leaks = (given: string) => Object.values(canaries).some((value) => given.includes(value));

describe('refusing mcpd\'s own credentials in a server\'s definition', () => {
  it('a definition the loader accepts gives the server none of them; one it refuses for a reference would have', async () => {
    await fc.assert(fc.asyncProperty(server, async (definition) => {
      const json = JSON.stringify({ mcpServers: { srv: definition } });
      let refusal: McpdError | undefined;
      try {
        parseConfig(json, FILE);
      } catch (error) {
        assert.ok(error instanceof McpdError, String(error));
        refusal = error;
      }
      if (refusal === undefined) {
        const given = await launched(configSchema.parse(JSON.parse(json)).mcpServers.srv as LocalServerConfig);
        assert.ok(!leaks(given), `accepted, yet the server would be given a credential of mcpd's: ${json}`);
      } else if (refusal.message.includes('one of mcpd\'s own credentials')) {
        assert.equal(refusal.code, 'CONFIG_INVALID');
        const given = await launched(configSchema.parse(JSON.parse(json)).mcpServers.srv as LocalServerConfig);
        assert.ok(leaks(given), `refused, yet nothing of mcpd's would have reached the server: ${refusal.message}`);
      }
    }), { numRuns: 500 }); // about a third accepted, a third refused for a credential, the rest malformed
  });
});
