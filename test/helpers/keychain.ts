/**
 * Whether the real OS keychain can be used here. Keychain tests skip with this reason where no
 * Secret Service runs; CI sets MCPD_REQUIRE_KEYCHAIN=1 so a missing one fails instead.
 */
import { randomBytes } from 'node:crypto';
import { keychainEntry } from '../../providers/keychain.js';

const HOW = 'run the tests under dbus-run-session with gnome-keyring unlocked, as .ci/run does';

/** undefined when a set/get/delete round trip works; else why the keychain tests cannot run. */
export async function keychainSkipReason(): Promise<string | undefined> {
  let reason: string | undefined;
  try {
    const entry = await keychainEntry('mcpd-test', `probe-${randomBytes(4).toString('hex')}`);
    await entry.setPassword('probe', AbortSignal.timeout(5000));
    const back = await entry.getPassword(AbortSignal.timeout(5000));
    await entry.deleteCredential(AbortSignal.timeout(5000));
    if (back !== 'probe') reason = 'the OS keychain did not return what was stored';
  } catch (error) {
    reason = `no usable Secret Service here (${error instanceof Error ? error.message.split('\n')[0] : String(error)}): ${HOW}`;
  }
  if (reason && process.env.MCPD_REQUIRE_KEYCHAIN === '1') throw new Error(`MCPD_REQUIRE_KEYCHAIN=1 but ${reason}`);
  return reason;
}
