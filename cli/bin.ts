#!/usr/bin/env node
/**
 * The `mcpd` command as installed: package.json's `bin` is this file bundled into
 * dist/cli/mcpd.cjs (scripts/bundle.ts). A host app starts `mcpd run NAME` for every session,
 * so the plain `mcpd run [--no-daemon] NAME` skips commander: through the daemon it runs from
 * this bundle (the socket client and ws), in-process from dist/cli/run-local.cjs. Every other
 * command line is commander's (cli/main.ts).
 */
import { createRequire } from 'node:module';
import { serverName, viaDaemon } from './commands/run-target.js';
import { fastRun } from './fast-run.js';
import { report } from './report.js';
import type * as RunLocal from './run-local.js';

async function start(): Promise<void> {
  const run = fastRun(process.argv.slice(2));
  if (!run) {
    await import('./main.js');
    return;
  }
  if (!viaDaemon(run)) {
    // require, not import(): import() would start the ES module loader, ~8 ms, for a CommonJS file.
    const { runLocal } = createRequire(import.meta.url)('./run-local.cjs') as typeof RunLocal;
    return runLocal(run);
  }
  try {
    process.exit(await (await import('./commands/run-session.js')).runSession(serverName(run), run));
  } catch (error) {
    process.exitCode = report(error);
  }
}

void start();
