/**
 * `mcpd secrets check`: resolves every reference the config uses, in this process and as a
 * launch would, and says for each whether it resolves — by name and provider, never by value.
 * (The daemon answers the same question about its own view with the control verb `secrets.check`.)
 */
import { referenceUses } from '../../daemon/config/references.js';
import { checkReferences, type Finding } from '../../providers/check.js';
import { type GlobalOptions, openConfig, openRegistry, output } from '../context.js';

export async function check(options: GlobalOptions & { daemon?: boolean }): Promise<void> {
  const findings = options.daemon ? await (await import('../../connect/daemon.js')).control(options, 'secrets.check') : await checkHere(options);
  const failed = findings.filter((f) => !f.ok).length;
  output(options, findings, () => [
    ...findings.map((f) => `${f.ok ? 'ok   ' : 'ERROR'}  ${f.reference} (${f.provider}) used by ${f.servers.join(', ')}${f.error ? `\n       ${f.error.message}${f.error.hint ? `\n       hint: ${f.error.hint}` : ''}` : ''}`),
    `${findings.length - failed} of ${findings.length} reference(s) resolve${failed ? `; ${failed} do not` : ''}`,
  ].join('\n'));
  if (failed) process.exitCode = 3;
}

async function checkHere(options: GlobalOptions): Promise<Finding[]> {
  const loaded = await openConfig(options, true);
  const registry = openRegistry(loaded, options);
  try {
    return await checkReferences(referenceUses(loaded.config), registry);
  } finally {
    await registry.close();
  }
}
