/**
 * Debian's chromium, driven by playwright-core (which downloads no browser of its own), for the
 * tests of pages mcpd serves. They skip with the reason where chromium is missing; CI sets
 * MCPD_REQUIRE_BROWSER=1 (and installs chromium) so a missing one fails instead.
 */
import { access, constants } from 'node:fs/promises';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** undefined when chromium is there; else why the browser tests cannot run. */
export async function browserSkipReason(): Promise<string | undefined> {
  const reason = await access(CHROMIUM, constants.X_OK).then(() => undefined, () => `no ${CHROMIUM}: apt-get install chromium, as .ci/run does`);
  if (reason && process.env.MCPD_REQUIRE_BROWSER === '1') throw new Error(`MCPD_REQUIRE_BROWSER=1 but ${reason}`);
  return reason;
}

/** A headless chromium with nothing of its own reaching the network. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}
