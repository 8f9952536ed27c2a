#!/usr/bin/env node
/**
 * The `mcpd` command as installed: package.json's `bin` is this file bundled into
 * dist/cli/mcpd.cjs (scripts/bundle.ts). A host app starts `mcpd run NAME` for every session,
 * so the plain `mcpd run [--no-daemon] NAME` skips commander and runs from a bundle of its own,
 * compiled from a code cache: dist/cli/run-daemon.cjs (the socket client and ws) or
 * dist/cli/run-local.cjs (execa, zod, the config, the providers). Every other command line is
 * commander's (cli/main.ts).
 */
import { fileURLToPath } from 'node:url';
import { requireCached } from './cached-require.js';
import { viaDaemon } from './commands/run-target.js';
import { fastRun } from './fast-run.js';
import type * as RunDaemon from './run-daemon.js';
import type * as RunLocal from './run-local.js';

const bundle = (name: string) => fileURLToPath(new URL(name, import.meta.url));

async function start(): Promise<void> {
  const run = fastRun(process.argv.slice(2));
  if (!run) {
    await import('./main.js');
    return;
  }
  // Not import(): it would start the ES module loader (~8 ms) and compile the bundle afresh.
  if (viaDaemon(run)) return (requireCached(bundle('./run-daemon.cjs')) as typeof RunDaemon).runDaemon(run);
  return (requireCached(bundle('./run-local.cjs')) as typeof RunLocal).runLocal(run);
}

void start();
