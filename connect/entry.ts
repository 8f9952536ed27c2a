/**
 * The installed `mcpd` command: the bundle `npm run build` writes beside the compiled CLI
 * (scripts/bundle.ts). Whatever starts mcpd again (autostart, the systemd and launchd units)
 * starts this file, so it gets the same fast start-up as the host app's `mcpd run`.
 */
import { fileURLToPath } from 'node:url';

export const cliEntry = fileURLToPath(new URL('../cli/mcpd.cjs', import.meta.url));
