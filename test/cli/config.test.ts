import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '../helpers/repo.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

describe('mcpd config', () => {
  let s: Sandbox;
  before(async () => { s = await sandbox(); });
  after(() => s.cleanup());

  it('path: --config, else $MCPD_CONFIG, else the XDG default', async () => {
    assert.equal((await s.cli(['config', 'path'])).stdout.trim(), s.configPath);
    assert.equal((await s.cli(['--config', '/etc/x.json', 'config', 'path'])).stdout.trim(), '/etc/x.json');
    const xdg = await s.cli(['config', 'path', '--json'], { env: { MCPD_CONFIG: '' } });
    assert.deepEqual(JSON.parse(xdg.stdout), { path: `${s.env.XDG_CONFIG_HOME}/mcpd/config.json`, exists: false });
  });

  it('check: ok with the servers and the references they use (never values)', async () => {
    await s.writeConfig({ mcpServers: { github: { command: 'npx', env: { T: '${secret:github/pat}' } } } });
    const result = await s.cli(['config', 'check']);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.match(result.stdout, /: ok, 1 server\(s\)/);
    assert.match(result.stdout, /github: npx — \$\{secret:github\/pat\}/);
    const json = JSON.parse((await s.cli(['config', 'check', '--json'])).stdout) as { ok: boolean; servers: Array<{ references: string[] }> };
    assert.deepEqual(json.servers[0]?.references, ['${secret:github/pat}']);
  });

  it('check: warns where ${NAME:-x} reads as a variable with a default while NAME is also a provider; the warning does not quote the default', async () => {
    await s.writeConfig({
      providers: { pass: { type: 'exec', command: ['pass', 'show'] } },
      mcpServers: { a: { command: 'npx', env: { T: '${pass:-default-secret-1}', U: '${vault:-x}', V: '${HOME:-/root}' } } },
    });
    const result = await s.cli(['config', 'check']);
    assert.equal(result.exitCode, 0, result.stderr);
    const warnings = result.stdout.split('\n').filter((line) => line.startsWith('warning: '));
    assert.deepEqual(warnings, [
      'warning: mcpServers.a.env.T: ${pass:-…} reads as the environment variable pass with a default, not as a reference to provider "pass"; for the provider, write ${pass:PATH} (a path cannot begin with "-")',
      'warning: mcpServers.a.env.U: ${vault:-…} reads as the environment variable vault with a default, not as a reference to provider "vault"; for the provider, write ${vault:PATH} (a path cannot begin with "-")',
    ]);
    const json = JSON.parse((await s.cli(['config', 'check', '--json'])).stdout) as { warnings: string[] };
    assert.equal(json.warnings.length, 2);
    assert.ok(!JSON.stringify(json.warnings).includes('default-secret-1'));
  });

  it('check: a bad config exits 2 with the file, the JSON path and the fix', async () => {
    await s.writeConfig({ mcpServers: { github: { command: 'npx', argz: [] } } });
    const result = await s.cli(['config', 'check']);
    assert.equal(result.exitCode, 2);
    assert.equal(result.stderr, `mcpd: ${s.configPath}: invalid config\nmcpServers.github.argz: unknown key "argz"\n  hint: correct the keys named above (see README "Configuration"), then run \`mcpd config check\`\n`);
  });

  it('check: an auth provider of an unknown type names its path, the type given and the types there are', async () => {
    await s.writeConfig({ mcpServers: { e: { command: 'node', args: ['x'] } }, socket: { listen: [{ host: '127.0.0.1', port: 0, auth: [{ type: 'bearr' }] }] } });
    const result = await s.cli(['config', 'check']);
    assert.equal(result.exitCode, 2);
    assert.equal(result.stderr, `mcpd: ${s.configPath}: invalid config\nsocket.listen[0].auth[0].type: unknown auth provider type "bearr"; expected one of bearer, forwarded, none, jwt, oauth\n  hint: correct the keys named above (see README "Configuration"), then run \`mcpd config check\`\n`);
  });

  it('schema: prints the JSON Schema the package ships; a config naming it in "$schema" checks ok', async () => {
    const result = await s.cli(['config', 'schema']);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.stdout, await readFile(join(repoRoot, 'dist', 'mcpd.schema.json'), 'utf8'));
    assert.equal((JSON.parse(result.stdout) as { title: string }).title, 'mcpd config');
    await s.writeConfig({ $schema: './mcpd.schema.json', mcpServers: { a: { command: 'x' } } });
    const check = await s.cli(['config', 'check']);
    assert.equal(check.exitCode, 0, check.stderr);
  });

  it('check: no config file exits 2 and says where it looked', async () => {
    const result = await s.cli(['config', 'check'], { env: { MCPD_CONFIG: `${s.dir}/missing.json` } });
    assert.equal(result.exitCode, 2);
    assert.match(result.stderr, new RegExp(`no config file at ${s.dir}/missing.json`));
  });

  it('an unknown verb is a usage error (exit 2)', async () => {
    const result = await s.cli(['frobnicate']);
    assert.equal(result.exitCode, 2);
    assert.match(result.stderr, /unknown command 'frobnicate'/);
  });
});
